-- The console's chart of declarations per week counts tenancies by when they were declared.
CREATE INDEX tenancies_declared_idx ON tenancies (declared_at);
