// Which IPC senders main answers: only the top frame of our own window, showing our own page.
// Kept free of the electron import so it can be tested without an Electron binary.

export interface SenderLike {
  sender: { id: number };
  senderFrame: { url: string; parent: unknown } | null;
}

export function isTrustedSender(event: SenderLike, windowWebContentsId: number | null, isAppUrl: (url: string) => boolean): boolean {
  const frame = event.senderFrame;
  if (!frame || windowWebContentsId === null || event.sender.id !== windowWebContentsId) return false;
  if (frame.parent !== null) return false;
  return isAppUrl(frame.url);
}
