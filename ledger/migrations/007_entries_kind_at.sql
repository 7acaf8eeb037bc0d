-- The history's lines of one kind in a time range (exitlane report
-- orders: a month of a busy lane without paging the whole history).
CREATE INDEX entries_kind_at ON entries(kind, at);
