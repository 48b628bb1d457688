import { createApp } from 'vue';
import App from './App.vue';
import { createApiClient } from './api';
import { API_KEY, ROUTER_KEY } from './ui/context';
import { createRouter } from './ui/router';
import './ui/theme.css';
import { SegmentationViewerService } from './viewers/segmentation-viewer-service';

// Read-only diagnostics for the end-to-end tests and the benchmark: what the viewer holds in cache.
(window as unknown as { segloopDebug: object }).segloopDebug = { viewerCacheStats: () => SegmentationViewerService.cacheStats() };

const api = createApiClient();
const router = createRouter();
const app = createApp(App);
app.provide(API_KEY, api);
app.provide(ROUTER_KEY, router);
app.mount('#app');
