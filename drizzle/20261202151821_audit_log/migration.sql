CREATE TYPE "audit_action" AS ENUM('JOB_CREATED', 'JOB_EDITED', 'JOB_STARTED', 'JOB_STOPPED', 'JOB_CANCELLED', 'DEVICES_CANCELLED', 'DEVICES_RETRIED', 'FIRMWARE_UPLOADED', 'FIRMWARE_VERIFIED', 'FIRMWARE_DELETED', 'PRODUCT_CREATED', 'DEVICES_REGISTERED', 'DEVICES_DELETED', 'USER_CREATED', 'USER_UPDATED', 'USER_PASSWORD_SET', 'USER_ROLES_SET', 'PASSWORD_CHANGED', 'ROLE_CREATED', 'ROLE_UPDATED', 'ROLE_DELETED', 'TOKEN_CREATED', 'TOKEN_REVOKED', 'SIGNED_IN', 'SIGN_IN_FAILED', 'SIGNED_OUT');--> statement-breakpoint
CREATE TYPE "audit_target_type" AS ENUM('JOB', 'FIRMWARE', 'PRODUCT', 'DEVICE', 'USER', 'ROLE', 'API_TOKEN');--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"ou_id" uuid NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"action" "audit_action" NOT NULL,
	"actor_id" uuid,
	"actor_name" text NOT NULL,
	"target_type" "audit_target_type",
	"target_id" uuid,
	"target_name" text,
	"summary" text NOT NULL,
	"details" jsonb,
	"client_address" text,
	"credential_kind" "credential_kind",
	"credential_id" uuid,
	"credential_name" text
);
--> statement-breakpoint
CREATE INDEX "audit_events_ou_at" ON "audit_events" ("ou_id","at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "audit_events_ou_action_at" ON "audit_events" ("ou_id","action","at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "audit_events_ou_actor_at" ON "audit_events" ("ou_id","actor_id","at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "audit_events_ou_target" ON "audit_events" ("ou_id","target_type","target_id","at" DESC NULLS LAST);--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_actor_id_users_id_fkey" FOREIGN KEY ("actor_id") REFERENCES "users"("id");