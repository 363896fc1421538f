-- Tombstones for one guardian: an entity that still exists but that this guardian may no longer
-- see (a photo consent withdrawn, a restriction of processing). Only that guardian's feed
-- carries it; seq comes from the feed's counter.
CREATE TABLE hidden (
    guardian_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (guardian_id, entity, entity_id)
);
CREATE INDEX hidden_seq ON hidden(guardian_id, seq);
CREATE INDEX hidden_entity ON hidden(entity, entity_id);

-- A rectification of a child's data names the child and the corrected free text; an objection
-- says what it is against ('analytics', 'photo_sharing').
ALTER TABLE privacy_requests ADD COLUMN child_id TEXT;
ALTER TABLE privacy_requests ADD COLUMN objection TEXT;
ALTER TABLE privacy_requests ADD COLUMN child_info TEXT;
CREATE INDEX privacy_requests_guardian ON privacy_requests(guardian_id, right, status);
