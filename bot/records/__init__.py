"""Everything kept: the database, concern log, audit trail, incidents, spool, retention."""
