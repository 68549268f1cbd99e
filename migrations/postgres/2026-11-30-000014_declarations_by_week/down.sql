DROP INDEX tenancies_declared_idx;
