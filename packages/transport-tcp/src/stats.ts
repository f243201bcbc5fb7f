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
  /** Handshakes refused because one side lacked the cluster secret or held another. */
  authFailures: number;
  /** Connections closed because a frame announced more than `maxFrameBytes`. */
  oversizedFrames: number;
  /** Messages dropped because their envelope, payload or shape was invalid. */
  invalidMessages: number;
  /** Messages refused because too many bytes were already waiting toward their peer. */
  backpressureRejections: number;
  /** Reconnections scheduled after a lost connection or a failed dial. */
  reconnectsScheduled: number;
  /** Messages (one-way, requests, replies and failures) handed to a connection. */
  messagesSent: number;
  /** Messages received after a handshake. */
  messagesReceived: number;
  /** Bytes handed to sockets, frame headers and handshakes included. */
  bytesSent: number;
  /** Bytes read from sockets. */
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
    oversizedFrames: 0,
    invalidMessages: 0,
    backpressureRejections: 0,
    reconnectsScheduled: 0,
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
  };
}
