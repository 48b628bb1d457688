// What every screen gets injected: the API client and the router.
import { inject, type InjectionKey } from 'vue';
import type { ApiClient } from '../api';
import type { Router } from './router';

export const API_KEY: InjectionKey<ApiClient> = Symbol('api');
export const ROUTER_KEY: InjectionKey<Router> = Symbol('router');

export function useApi(): ApiClient {
  const api = inject(API_KEY);
  if (!api) throw new Error('ApiClient not provided');
  return api;
}

export function useRouter(): Router {
  const r = inject(ROUTER_KEY);
  if (!r) throw new Error('Router not provided');
  return r;
}
