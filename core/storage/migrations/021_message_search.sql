-- Message search (GET /admin/messages): keyset paging newest first, per filter, over every inbox partition.
CREATE INDEX inbox_received_idx ON inbox (received_at DESC, message_id DESC);
CREATE INDEX inbox_plugin_received_idx ON inbox (plugin_id, received_at DESC, message_id DESC);
-- text_pattern_ops serves both equality (controlId) and prefix search (documentId without its version).
CREATE INDEX inbox_control_id_idx ON inbox (control_id text_pattern_ops);

-- Patient identifiers (system|value) of every stored message, written in the store transaction from the
-- Patient resources the message produced (also when the Patient itself was unchanged).
CREATE TABLE message_patient (
  system     text NOT NULL,
  value      text NOT NULL,
  ente       text NOT NULL,
  message_id uuid NOT NULL,
  PRIMARY KEY (system, value, ente, message_id)
);
CREATE INDEX message_patient_message_idx ON message_patient (message_id);

-- Error rate over a window (alerts) and "dead-lettered in the last hour" (overview) read by creation time.
CREATE INDEX dead_letter_created_idx ON dead_letter (created_at);
