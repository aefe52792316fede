CREATE TABLE "signing_keys" (
	"name" text PRIMARY KEY,
	"secret" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
