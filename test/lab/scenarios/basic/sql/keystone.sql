-- Extra seed for the basic scenario, applied to old's keystone database after the base seed.
-- One more project, so a test can see that scenario SQL lands and survives the upgrade.
INSERT INTO project (id, name, extra, description, enabled, domain_id, parent_id, is_domain)
VALUES ('5ce9a1b0a7c24f5e9e0c3b5d9a1f0b01', 'scenario-basic', '{}',
        'Added by the basic lab scenario (test/lab/scenarios/basic)', 1, 'default', 'default', 0);
