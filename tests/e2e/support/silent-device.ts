/**
 * A device that speaks the real MQTT protocol, accepts an upgrade push (reply 200) and then says
 * nothing, so its task stays Pushed until someone cancels it. Records the cancel commands it gets.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { deviceMqttCredentials, otaReplyTopic, otaTopic, OTA_METHODS, PROTOCOL_VERSION, REPLY_CODE } from '@updraft/server/devices/protocol.js';

export interface SilentDevice {
  deviceKey: string;
  /** Job ids of the pushes received. */
  pushes: string[];
  /** Job ids of the cancel commands received. */
  cancels: string[];
  stop(): Promise<void>;
}

export async function connectSilentDevice(
  mqttUrl: string,
  spec: { productKey: string; deviceKey: string; secret: string; version: string },
): Promise<SilentDevice> {
  const { productKey, deviceKey } = spec;
  const client: MqttClient = await mqtt.connectAsync(mqttUrl, { ...deviceMqttCredentials(productKey, deviceKey, spec.secret), reconnectPeriod: 0 });
  const device: SilentDevice = { deviceKey, pushes: [], cancels: [], stop: () => client.endAsync() };
  const upgrade = otaTopic(productKey, deviceKey, 'upgrade');
  const cancel = otaTopic(productKey, deviceKey, 'cancel');
  client.on('message', (topic, payload) => {
    const message = JSON.parse(payload.toString()) as { id: string; params?: { jobId?: string } };
    if (topic === upgrade) {
      device.pushes.push(message.params?.jobId ?? '');
      void client.publishAsync(otaReplyTopic(productKey, deviceKey, 'upgrade'), JSON.stringify({ id: message.id, code: REPLY_CODE.OK, data: {} }));
    } else if (topic === cancel) {
      device.cancels.push(message.params?.jobId ?? '');
      void client.publishAsync(otaReplyTopic(productKey, deviceKey, 'cancel'), JSON.stringify({ id: message.id, code: REPLY_CODE.OK, data: {} }));
    }
  });
  await client.subscribeAsync([upgrade, cancel], { qos: 1 });
  await client.publishAsync(
    otaTopic(productKey, deviceKey, 'inform'),
    JSON.stringify({ id: '1', version: PROTOCOL_VERSION, method: OTA_METHODS.inform, params: { version: spec.version } }),
    { qos: 1 },
  );
  return device;
}
