/**
 * What the gateway needs from an MQTT broker, whichever it is: messages in (each acknowledged only
 * once its effect is durable) and messages out. Two implementations: embedded-broker.ts (aedes in
 * this process) and external-broker.ts (a client of MQTT_URL with shared subscriptions).
 */
export interface InboundMessage {
  topic: string;
  payload: Buffer;
  receivedAt: Date;
  /**
   * Completes the MQTT delivery: the broker's PUBACK to the device (embedded) or our PUBACK to the
   * broker (external). Called only after the message's effect has been committed.
   */
  ack(): void;
}

export interface DeviceTransport {
  readonly mode: 'embedded' | 'external';
  /** The URL devices connect to (the embedded broker's real port, or MQTT_URL). */
  readonly deviceUrl: string;
  /**
   * How long every broker connection has been up and subscribed without a break (0 while one is
   * away). Reports held for the gateway by the broker come in during the first moments after a
   * (re)connect; the re-push waits for them (engine/repush.ts).
   */
  connectedForMs(): number;
  /** Sends one message to a device topic, QoS 1. Never throws: a failure is logged and counted. */
  publish(topic: string, payload: Buffer): void;
  close(): Promise<void>;
}

export type InboundHandler = (message: InboundMessage) => void;
