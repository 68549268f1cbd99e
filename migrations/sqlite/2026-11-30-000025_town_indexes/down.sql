DROP INDEX units_overcrowded_idx;
