import { A } from '@solidjs/router';

export function NotFoundPage() {
  return (
    <section class="page">
      <div class="state state-empty">
        <div class="state-title">Page not found</div>
        <div class="state-text">
          Nothing lives at this address. Go to the <A href="/jobs">OTA Jobs</A>.
        </div>
      </div>
    </section>
  );
}
