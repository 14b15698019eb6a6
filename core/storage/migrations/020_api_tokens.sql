-- Bearer tokens of operators, authors and readers (cdr token create). Only the SHA-256 of a token is kept:
-- tokens are 256 random bits, so a fast hash cannot be brute-forced and lets a request find its token by index.
CREATE TABLE api_token (
  id           uuid PRIMARY KEY,
  name         text,
  token_hash   text NOT NULL UNIQUE,
  role         text NOT NULL CHECK (role IN ('admin', 'operator', 'author', 'reader')),
  -- NULL = every Ente ("*"); otherwise the Ente codes the token may see.
  enti         text[],
  scopes       text[] NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  created_by   text NOT NULL,
  revoked_at   timestamptz,
  revoked_by   text,
  last_used_at timestamptz
);
