-- family 0.3.0: TRUNCATE is heard too.
\echo Use "ALTER EXTENSION family UPDATE" to load this file. \quit

-- TRUNCATE fires no row triggers, so the change notifications (channel
-- family_person) would miss it: tell listeners that every person may have
-- changed ("*"), as the row triggers do past 1000 ids in a transaction.
CREATE FUNCTION family.notify_truncate() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM pg_notify('family_person', '*');
    RETURN NULL;
END $$;

CREATE TRIGGER notify_truncate AFTER TRUNCATE ON family.person
    FOR EACH STATEMENT EXECUTE FUNCTION family.notify_truncate();
CREATE TRIGGER notify_truncate AFTER TRUNCATE ON family.relationship
    FOR EACH STATEMENT EXECUTE FUNCTION family.notify_truncate();
