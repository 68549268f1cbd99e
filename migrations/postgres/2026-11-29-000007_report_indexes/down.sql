DROP INDEX tenancies_late_active_idx;
