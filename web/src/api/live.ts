//! Live updates: table changes pushed over supabase-js's realtime API
//! (`channel().on('postgres_changes', …)` on /realtime/v1/websocket), filtered to one org;
//! rowgate decides each delivery by the subscriber's SELECT policies (docs/realtime.md).
//!
//! It fails soft on a server without realtime (ROWGATE_REALTIME=off, no logical decoding): a
//! channel that is not SUBSCRIBED within a few seconds (or errors first) is removed, the socket
//! closed, and the screen says "Live updates off" and keeps working (reload to see others' edits).
//! It is tried again each time a screen subscribes.

import type { RealtimeChannel } from '@supabase/supabase-js';
import { supabase } from './client';

export type LiveState = 'connecting' | 'live' | 'off';

export interface Change {
  table: string;
  eventType: 'INSERT' | 'UPDATE' | 'DELETE';
  /** The row after the change (INSERT, UPDATE). */
  row: Record<string, unknown>;
  /** The row before (UPDATE, DELETE): at least its key. */
  old: Record<string, unknown>;
}

/** How long a join may take before live updates count as unavailable. */
const JOIN_TIMEOUT_MS = 6000;

/**
 * Subscribes to INSERT/UPDATE/DELETE of `tables` (schema api) for rows of `org`.
 * Returns the unsubscribe function.
 */
export function subscribeToOrg(
  org: string,
  tables: string[],
  onChange: (change: Change) => void,
  onState: (state: LiveState) => void,
): () => void {
  let closed = false;
  let live = false;
  let channel: RealtimeChannel;
  try {
    channel = supabase.channel(`org-${org}-${tables.join('-')}-${Math.random().toString(36).slice(2)}`);
    for (const table of tables) {
      channel.on(
        'postgres_changes',
        { event: '*', schema: 'api', table, filter: `org_id=eq.${org}` },
        (payload) => {
          if (closed) return;
          onChange({
            table: payload.table,
            eventType: payload.eventType,
            row: (payload.new ?? {}) as Record<string, unknown>,
            old: (payload.old ?? {}) as Record<string, unknown>,
          });
        },
      );
    }
  } catch {
    onState('off');
    return () => {};
  }

  const stop = () => {
    clearTimeout(timer);
    void supabase.removeChannel(channel).finally(() => {
      if (supabase.getChannels().length === 0) void supabase.realtime.disconnect();
    });
  };
  const giveUp = () => {
    if (closed) return;
    closed = true;
    onState('off');
    stop();
  };
  const timer = setTimeout(() => {
    if (!live) giveUp();
  }, JOIN_TIMEOUT_MS);

  onState('connecting');
  channel.subscribe((status) => {
    if (closed) return;
    if (status === 'SUBSCRIBED') {
      live = true;
      clearTimeout(timer);
      onState('live');
    } else if (!live) {
      // CHANNEL_ERROR, TIMED_OUT or CLOSED before ever joining: no realtime on this server.
      giveUp();
    } else {
      // It was live: realtime-js rejoins by itself; say so meanwhile.
      onState(status === 'CLOSED' ? 'off' : 'connecting');
    }
  });

  return () => {
    if (closed) return;
    closed = true;
    stop();
  };
}
