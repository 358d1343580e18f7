-- Victoria's schema already makes volumes.volume_type_id NOT NULL (cinder migration 136); a database carried
-- over from before that migration, or repaired by hand, can still hold NULLs. Recreate that: column nullable,
-- then one live, available volume loses its type (which one does not matter).
ALTER TABLE volumes MODIFY volume_type_id VARCHAR(36) NULL;
UPDATE volumes SET volume_type_id = NULL WHERE deleted = 0 AND status = 'available' ORDER BY id LIMIT 1;
