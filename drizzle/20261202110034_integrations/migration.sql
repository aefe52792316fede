CREATE TYPE "trusted_document_source" AS ENUM('DASHBOARD', 'INTEGRATION');--> statement-breakpoint
CREATE TYPE "webhook_delivery_status" AS ENUM('PENDING', 'SUCCEEDED', 'FAILED');--> statement-breakpoint
CREATE TYPE "webhook_delivery_trigger" AS ENUM('EVENT', 'REDELIVERY', 'REPLAY', 'TEST');--> statement-breakpoint
ALTER TYPE "permission" ADD VALUE 'WEBHOOK_ADMIN';--> statement-breakpoint
CREATE TABLE "trusted_documents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"ou_id" uuid,
	"document_id" text NOT NULL,
	"source" "trusted_document_source" NOT NULL,
	"client_name" text NOT NULL,
	"operation_name" text,
	"document" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" uuid,
	CONSTRAINT "trusted_documents_scope_id" UNIQUE NULLS NOT DISTINCT("ou_id","document_id")
);
--> statement-breakpoint
CREATE TABLE "webhook_attempts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "webhook_attempts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"delivery_id" bigint NOT NULL,
	"attempted_at" timestamp with time zone NOT NULL,
	"response_status" integer,
	"latency_ms" integer NOT NULL,
	"error" text,
	"response_body" text
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "webhook_deliveries_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"ou_id" uuid NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"event_id" bigint NOT NULL,
	"lane" text NOT NULL,
	"trigger" "webhook_delivery_trigger" DEFAULT 'EVENT'::"webhook_delivery_trigger" NOT NULL,
	"status" "webhook_delivery_status" DEFAULT 'PENDING'::"webhook_delivery_status" NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_until" timestamp with time zone,
	"last_attempt_at" timestamp with time zone,
	"last_response_status" integer,
	"last_latency_ms" integer,
	"last_error" text,
	"delivered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_endpoints" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"ou_id" uuid NOT NULL,
	"name" text NOT NULL,
	"url" text NOT NULL,
	"event_types" text[] NOT NULL,
	"product_id" uuid,
	"job_id" uuid,
	"enabled" boolean DEFAULT true NOT NULL,
	"disabled_reason" text,
	"disabled_at" timestamp with time zone,
	"secret_ciphertext" text NOT NULL,
	"previous_secret_ciphertext" text,
	"previous_secret_expires_at" timestamp with time zone,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"failing_since" timestamp with time zone,
	"paused_until" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"last_failure_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "webhook_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"ou_id" uuid NOT NULL,
	"type" text NOT NULL,
	"job_id" uuid,
	"product_id" uuid,
	"data" jsonb NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_progress_marks" (
	"job_id" uuid PRIMARY KEY,
	"fingerprint" text NOT NULL,
	"queued_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_tokens" ADD COLUMN "trusted_documents_only" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "trusted_documents_document_id_index" ON "trusted_documents" ("document_id");--> statement-breakpoint
CREATE INDEX "webhook_attempts_delivery_id_id_index" ON "webhook_attempts" ("delivery_id","id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_lane" ON "webhook_deliveries" ("endpoint_id","lane","id") WHERE status = 'PENDING';--> statement-breakpoint
CREATE INDEX "webhook_deliveries_log" ON "webhook_deliveries" ("endpoint_id","id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_event_id_index" ON "webhook_deliveries" ("event_id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_finished" ON "webhook_deliveries" ("created_at") WHERE status <> 'PENDING';--> statement-breakpoint
CREATE INDEX "webhook_endpoints_ou_id_created_at_index" ON "webhook_endpoints" ("ou_id","created_at");--> statement-breakpoint
CREATE INDEX "webhook_events_ou_id_occurred_at_index" ON "webhook_events" ("ou_id","occurred_at");--> statement-breakpoint
ALTER TABLE "trusted_documents" ADD CONSTRAINT "trusted_documents_ou_id_organisation_units_id_fkey" FOREIGN KEY ("ou_id") REFERENCES "organisation_units"("id");--> statement-breakpoint
ALTER TABLE "trusted_documents" ADD CONSTRAINT "trusted_documents_created_by_users_id_fkey" FOREIGN KEY ("created_by") REFERENCES "users"("id");--> statement-breakpoint
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_delivery_id_webhook_deliveries_id_fkey" FOREIGN KEY ("delivery_id") REFERENCES "webhook_deliveries"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_webhook_endpoints_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_event_id_webhook_events_id_fkey" FOREIGN KEY ("event_id") REFERENCES "webhook_events"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_ou_id_organisation_units_id_fkey" FOREIGN KEY ("ou_id") REFERENCES "organisation_units"("id");--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_product_id_products_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products"("id");--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_job_id_ota_jobs_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ota_jobs"("id");--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_created_by_users_id_fkey" FOREIGN KEY ("created_by") REFERENCES "users"("id");--> statement-breakpoint
ALTER TABLE "webhook_progress_marks" ADD CONSTRAINT "webhook_progress_marks_job_id_ota_jobs_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ota_jobs"("id") ON DELETE CASCADE;