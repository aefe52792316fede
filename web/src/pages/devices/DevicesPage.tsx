/** Devices: the fleet with online state, current version and product; search by key or name. */
import { A } from '@solidjs/router';
import { createQuery } from '@urql/solid';
import { For } from 'solid-js';
import { OnlineDot } from '../../components/Badges';
import { Pager } from '../../components/Pager';
import { SearchInput } from '../../components/SearchInput';
import { ListView } from '../../components/ListView';
import { Empty } from '../../components/States';
import { formatDateTime } from '../../times';
import { deviceHref } from '../job/DeviceTableView';
import { ProductSelect } from '../../components/ProductSelect';
import { devicesExportHref, pagerProps, pageVariables, param, useViewParams } from '../../url';
import { DevicesQuery } from './documents';

const PAGE_SIZE = 50;

export function DevicesPage() {
  const { params, setParams, setFilter } = useViewParams();
  const online = () => ({ online: true, offline: false })[param(params, 'state') as 'online' | 'offline'] ?? null;
  const [query, refetch] = createQuery({
    query: DevicesQuery,
    variables: () => ({
      productKey: param(params, 'product') ?? null,
      search: param(params, 'q') ?? null,
      online: online(),
      ...pageVariables(params, PAGE_SIZE),
    }),
  });
  const connection = () => query.data?.devices;
  return (
    <section class="page">
      <header class="page-header">
        <div>
          <div class="breadcrumb">Device Management</div>
          <h1>Devices</h1>
        </div>
        <div class="page-actions">
          <a
            class="btn"
            href={devicesExportHref({ productKey: param(params, 'product'), search: param(params, 'q'), online: online() })}
            download=""
            data-testid="export-devices"
            title="Every device that matches the filters, not only this page"
          >
            Export CSV
          </a>
          <button type="button" class="btn" onClick={() => refetch({ requestPolicy: 'network-only' })}>
            Refresh
          </button>
        </div>
      </header>
      <search class="toolbar">
        <ProductSelect
          products={query.data?.products ?? []}
          value={param(params, 'product')}
          onChange={(product) => setFilter({ product })}
          allLabel="All products"
        />
        <select class="input" aria-label="Online state" value={param(params, 'state') ?? ''} onChange={(e) => setFilter({ state: e.currentTarget.value })}>
          <option value="">Online and offline</option>
          <option value="online">Online</option>
          <option value="offline">Offline</option>
        </select>
        <SearchInput label="Device key or name" placeholder="Search device key or name" value={param(params, 'q')} onSearch={(q) => setFilter({ q })} />
      </search>
      <ListView
        connection={connection()}
        error={query.error}
        fetching={query.fetching}
        loadingLabel="Loading devices…"
        empty={<Empty title="No devices match">Change or clear the search and filters.</Empty>}
        onRetry={() => refetch({ requestPolicy: 'network-only' })}
      >
        {(c) => (
          <>
            <div class="table-scroll">
              <table class="table table-dense" data-testid="devices-table">
                <thead>
                  <tr>
                    <th>Device key</th>
                    <th>Name</th>
                    <th>Product</th>
                    <th>State</th>
                    <th>Current version</th>
                    <th>Tags</th>
                    <th>Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={c().nodes}>
                    {(d) => (
                      <tr data-testid="fleet-device-row">
                        <td class="mono">
                          <A href={deviceHref(d.product.productKey, d.deviceKey)} class="device-link">
                            {d.deviceKey}
                          </A>
                        </td>
                        <td>{d.name}</td>
                        <td>{d.product.name}</td>
                        <td>
                          <OnlineDot online={d.online} />
                        </td>
                        <td class="mono">{d.firmwareVersion ?? '—'}</td>
                        <td>
                          <For each={d.tags}>
                            {(t) => (
                              <span class="tag">
                                {t.key}={t.value}
                              </span>
                            )}
                          </For>
                        </td>
                        <td class="nowrap">{formatDateTime(d.lastSeenAt)}</td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </div>
            <Pager {...pagerProps(params, setParams, { pageInfo: c().pageInfo, shown: c().nodes.length, total: c().totalCount }, PAGE_SIZE)} />
          </>
        )}
      </ListView>
    </section>
  );
}
