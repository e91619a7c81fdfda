-- The console's overview (issue 17) counts the decisions of the last minutes and hours by the
-- time they were made; without this index every look would read the whole history.

CREATE INDEX decisions_by_decided_at ON decisions (decided_at);
