/**
 * tabswarm as a library: `import { createClient } from 'tabswarm'` adds swarm delivery to a
 * site's own downloads (README, "Embedding"). Everything a page needs is exported here; what
 * is not exported here is not public API.
 */
export { createClient, contentIdOf } from './client/create-client.js';
export type { ClientDownload, ClientDownloadEvents, ClientOptions, DownloadRequest, Progress, TabswarmClient } from './client/create-client.js';
export { SETTINGS_KEY } from './client/settings.js';
export type { SettingsStorage } from './client/settings.js';
export type { ServiceWorkerOptions } from './client/swarm-url.js';
export type { PeeringConfig } from './core/config-peering.js';
export type { StreamConfig } from './core/config-stream.js';
export { CLIENT_DOWNLOAD_MODES, DEFAULT_CONFIG } from './core/config.js';
export type { ClientConfig, ClientDownloadMode } from './core/config.js';
export { TabswarmError, isTabswarmError } from './core/errors.js';
export type { ErrorKind } from './core/errors.js';
export type { DownloadState } from './core/download.js';
export type { DownloadStatus, PeerStatus, PerfSnapshot } from './core/status.js';
