/** Counters of a {@link TcpTransport}, since it was created. */
export interface TcpTransportStats {
  /** Connections accepted by the listener, before any handshake. */
  connectionsAccepted: number;
  /** Outbound connection attempts, reconnections included. */
  dials: number;
  /** Connections whose handshake completed, in either direction. */
  connectionsEstablished: number;
  /** Handshakes that failed for any reason, authentication included. */
  handshakeFailures: number;
  /** Handshakes refused for authentication: a missing or wrong key, or a claimed id that is not a known peer. */
  authFailures: number;
  /** Of {@link authFailures}: peers refused because the id they claimed is not a known peer. */
  unknownPeerRefusals: number;
  /**
   * TLS handshakes that failed, in either direction (an untrusted
   * certificate, a wrong host name, a peer not speaking TLS); also counted
   * in {@link handshakeFailures}.
   */
  tlsFailures: number;
  /**
   * Connections closed because a frame after the handshake failed its MAC:
   * altered, replayed, reordered, dropped or truncated on the way.
   */
  frameAuthFailures: number;
  /** Connections closed because a frame announced more than `maxFrameBytes`. */
  oversizedFrames: number;
  /** Messages dropped because their envelope, payload or shape was invalid. */
  invalidMessages: number;
  /** Messages refused because too many bytes were already waiting toward their peer. */
  backpressureRejections: number;
  /** Times a connection stopped reading because `maxPendingInbound` of its requests awaited their handlers. */
  readPauses: number;
  /** Reconnections scheduled after a lost connection or a failed dial. */
  reconnectsScheduled: number;
  /** Messages (one-way, requests, replies and failures) handed to a connection. */
  messagesSent: number;
  /** Messages received after a handshake. */
  messagesReceived: number;
  /** Bytes handed to sockets, frame headers, MACs and handshakes included (TLS records not). */
  bytesSent: number;
  /** Bytes read from sockets (inside TLS, when it is on). */
  bytesReceived: number;
}

/** A zeroed set of counters. */
export function createStats(): TcpTransportStats {
  return {
    connectionsAccepted: 0,
    dials: 0,
    connectionsEstablished: 0,
    handshakeFailures: 0,
    authFailures: 0,
    unknownPeerRefusals: 0,
    tlsFailures: 0,
    frameAuthFailures: 0,
    oversizedFrames: 0,
    invalidMessages: 0,
    backpressureRejections: 0,
    readPauses: 0,
    reconnectsScheduled: 0,
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
  };
}
