-- One live, available volume loses its type (the rows are the base seed's; which one does not matter).
UPDATE volumes SET volume_type_id = NULL WHERE deleted = 0 AND status = 'available' ORDER BY id LIMIT 1;
