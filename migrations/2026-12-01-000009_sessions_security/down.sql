DROP TABLE security_events;
DROP FUNCTION intakeflow_append_only();
DROP TABLE password_history;
