ALTER TABLE "devices" ADD COLUMN "report_session" text;--> statement-breakpoint
ALTER TABLE "devices" ADD COLUMN "report_seq" bigint;