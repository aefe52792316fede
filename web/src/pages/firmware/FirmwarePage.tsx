/**
 * Firmware: the firmware of one product, with Upload (progress bar), Verify (a verification job on
 * up to five chosen devices), Batch Upgrade (an upgrade job with every setting) and Delete.
 */
import { createQuery } from '@urql/solid';
import { createEffect, createSignal, For, Match, Show, Switch } from 'solid-js';
import { client } from '../../api/client';
import { readFragment, type ResultOf } from '../../api/graphql';
import { outcomeOf, problemOfError, type ApiProblem } from '../../api/outcome';
import { ConfirmDialog } from '../../components/Dialog';
import { DisabledWithReason } from '../../components/DisabledWithReason';
import { Pager } from '../../components/Pager';
import { Banner, Empty, Loading, ProblemDetails, ProblemView } from '../../components/States';
import { formatBytes } from '../../format';
import { formatDateTime } from '../../times';
import { useSession } from '../../session';
import { ProductSelect } from '../../components/ProductSelect';
import { pagerProps, pageVariables, param, useViewParams } from '../../url';
import { BatchUpgradeDialog } from './BatchUpgradeDialog';
import { DeleteFirmwareMutation, FirmwareFields, FirmwarePageQuery } from './documents';
import { UploadDialog } from './UploadDialog';
import { VerifyDialog } from './VerifyDialog';

const PAGE_SIZE = 25;
export type FirmwareItem = ResultOf<typeof FirmwareFields>;

export function FirmwarePage() {
  const session = useSession();
  const { params, setParams, setFilter } = useViewParams();
  const [query, refetch] = createQuery({
    query: FirmwarePageQuery,
    variables: () => ({ productKey: param(params, 'product') ?? null, ...pageVariables(params, PAGE_SIZE) }),
  });
  const products = () => query.data?.products ?? [];
  // The page shows one product's firmware: the first product until the operator picks one.
  createEffect(() => {
    if (!param(params, 'product') && products().length > 0) setParams({ product: products()[0].productKey }, { replace: true });
  });
  const product = () => products().find((p) => p.productKey === param(params, 'product'));
  const items = () => (query.data?.firmwares.nodes ?? []).map((n) => readFragment(FirmwareFields, n));

  const [uploading, setUploading] = createSignal(false);
  const [verifying, setVerifying] = createSignal<FirmwareItem | null>(null);
  const [upgrading, setUpgrading] = createSignal<FirmwareItem | null>(null);
  const [deleting, setDeleting] = createSignal<FirmwareItem | null>(null);
  const [busy, setBusy] = createSignal(false);
  const [notice, setNotice] = createSignal<{ kind: 'success' | 'error'; text: string; problem?: ApiProblem } | null>(null);
  const reload = () => refetch({ requestPolicy: 'network-only' });

  const remove = async (firmware: FirmwareItem) => {
    setBusy(true);
    const result = await client.mutation(DeleteFirmwareMutation, { id: firmware.id }).toPromise();
    setBusy(false);
    setDeleting(null);
    const outcome = outcomeOf(result.error, result.data?.deleteFirmware);
    if (!outcome.ok) return setNotice({ kind: 'error', text: `“${firmware.name}” was not deleted: ${outcome.problem.message}`, problem: outcome.problem });
    setNotice({ kind: 'success', text: `Firmware “${firmware.name}” deleted.` });
    reload();
  };

  return (
    <section class="page">
      <header class="page-header">
        <div>
          <div class="breadcrumb">Device Management / OTA Upgrades</div>
          <h1>Firmware</h1>
        </div>
        <div class="page-actions">
          <ProductSelect products={products()} value={param(params, 'product')} onChange={(product) => setFilter({ product })} showKey />
          <Show when={session.can('FIRMWARE_WRITE')}>
            <button type="button" class="btn btn-primary" disabled={!product()} onClick={() => setUploading(true)}>
              Upload firmware
            </button>
          </Show>
        </div>
      </header>

      <Show when={notice()}>
        {(n) => (
          <Banner kind={n().kind} onClose={() => setNotice(null)}>
            <div data-testid="firmware-notice">{n().text}</div>
            <Show when={n().problem}>{(p) => <ProblemDetails problem={p()} />}</Show>
          </Banner>
        )}
      </Show>

      <Switch>
        <Match when={query.error && !query.data}>
          <ProblemView problem={problemOfError(query.error!)} onRetry={reload} />
        </Match>
        <Match when={!query.data}>
          <Loading label="Loading firmware…" />
        </Match>
        <Match when={products().length === 0}>
          <Empty title="No products yet">Firmware belongs to a product: create a product through the API first.</Empty>
        </Match>
        <Match when={items().length === 0}>
          <Empty title={`No firmware for ${product()?.name ?? 'this product'}`}>Upload a firmware file to verify it and roll it out.</Empty>
        </Match>
        <Match when={query.data}>
          <div class="card" classList={{ stale: query.fetching }}>
            <div class="table-scroll">
              <table class="table" data-testid="firmware-table">
                <thead>
                  <tr>
                    <th>Firmware name</th>
                    <th>Version</th>
                    <th>Verification</th>
                    <th>Sign</th>
                    <th class="num">Size</th>
                    <th>Uploaded</th>
                    <th>Used by jobs</th>
                    <th class="actions">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={items()}>
                    {(f) => (
                      <tr data-testid="firmware-row" data-firmware={f.name}>
                        <td>
                          <div class="link-strong">{f.name}</div>
                          <Show when={f.description}>
                            <div class="sub">{f.description}</div>
                          </Show>
                        </td>
                        <td class="mono">{f.version}</td>
                        <td>
                          <Switch fallback={<span class="badge badge-muted">Not required</span>}>
                            <Match when={f.verified}>
                              <span class="badge badge-success" title={`Verified ${formatDateTime(f.verifiedAt)}`}>
                                Verified
                              </span>
                            </Match>
                            <Match when={f.requireVerification}>
                              <span class="badge badge-warning">Needs verification</span>
                            </Match>
                          </Switch>
                        </td>
                        <td class="mono sign" title={f.sign}>
                          {f.signMethod} {f.sign.slice(0, 10)}…
                        </td>
                        <td class="num">{formatBytes(f.size)}</td>
                        <td class="nowrap">{formatDateTime(f.createdAt)}</td>
                        <td>{f.usedByJobs.length ? f.usedByJobs.join(', ') : <span class="muted">None</span>}</td>
                        <td class="actions nowrap">
                          <Show when={session.can('OTA_CREATE')}>
                            <button type="button" class="btn btn-small" onClick={() => setVerifying(f)}>
                              Verify
                            </button>
                            <DisabledWithReason
                              reason={f.requireVerification && !f.verified ? 'Verify it first: it needs a verification job that succeeds' : null}
                            >
                              {(reasonId) => (
                                <button
                                  type="button"
                                  class="btn btn-small"
                                  disabled={!!reasonId}
                                  aria-describedby={reasonId ?? undefined}
                                  onClick={() => setUpgrading(f)}
                                >
                                  Batch Upgrade
                                </button>
                              )}
                            </DisabledWithReason>
                          </Show>
                          <Show when={session.can('FIRMWARE_DELETE')}>
                            <DisabledWithReason
                              reason={f.usedByJobs.length > 0 ? `In use by ${f.usedByJobs.length === 1 ? 'a job' : 'jobs'} that still need it` : null}
                            >
                              {(reasonId) => (
                                <button
                                  type="button"
                                  class="btn btn-small btn-danger-outline"
                                  disabled={!!reasonId}
                                  aria-describedby={reasonId ?? undefined}
                                  onClick={() => setDeleting(f)}
                                >
                                  Delete
                                </button>
                              )}
                            </DisabledWithReason>
                          </Show>
                        </td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </div>
            <Pager
              {...pagerProps(
                params,
                setParams,
                { pageInfo: query.data!.firmwares.pageInfo, shown: items().length, total: query.data!.firmwares.totalCount },
                PAGE_SIZE,
              )}
            />
          </div>
        </Match>
      </Switch>

      <Show when={uploading() && product()}>
        <UploadDialog
          product={product()!}
          onClose={() => setUploading(false)}
          onUploaded={(f) => {
            setUploading(false);
            setNotice({ kind: 'success', text: `Firmware “${f.name}” (${f.version}) uploaded.` });
            reload();
          }}
        />
      </Show>
      <Show when={verifying()}>{(f) => <VerifyDialog firmware={f()} onClose={() => setVerifying(null)} />}</Show>
      <Show when={upgrading()}>{(f) => <BatchUpgradeDialog firmware={f()} onClose={() => setUpgrading(null)} />}</Show>
      <ConfirmDialog
        open={deleting() !== null}
        title="Delete firmware"
        confirmLabel="Delete"
        danger
        busy={busy()}
        onConfirm={() => void remove(deleting()!)}
        onClose={() => setDeleting(null)}
      >
        <p>
          Delete “{deleting()?.name}” ({deleting()?.version})? Devices can no longer download it. Firmware that a job still needs cannot be deleted.
        </p>
      </ConfirmDialog>
    </section>
  );
}
