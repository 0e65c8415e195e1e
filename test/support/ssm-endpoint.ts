/**
 * A stand-in for AWS Systems Manager Parameter Store that answers GetParameter, the one call the
 * functions make to read a deployed config from an SSM parameter (lib/lambda/config-readers.ts), over the
 * service's JSON protocol (`X-Amz-Target: AmazonSSM.GetParameter`). Anything else, or a parameter it does
 * not hold, is answered with the service's error.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from './ports.ts';

export interface SsmEndpoint {
  /** For AWS_ENDPOINT_URL_SSM. */
  readonly endpoint: string;
  putParameter(name: string, value: string): void;
  close(): Promise<void>;
}

export async function startSsmEndpoint(initial: Readonly<Record<string, string>> = {}): Promise<SsmEndpoint> {
  const parameters = new Map(Object.entries(initial));
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let name: unknown;
      try {
        ({ Name: name } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Name?: unknown });
      } catch {
        name = undefined;
      }
      const isGet = request.headers['x-amz-target'] === 'AmazonSSM.GetParameter';
      const value = isGet && typeof name === 'string' ? parameters.get(name) : undefined;
      const body =
        value === undefined
          ? { __type: isGet ? 'ParameterNotFound' : 'UnknownOperationException', message: `${String(name)}` }
          : { Parameter: { Name: name, Type: 'String', Value: value, Version: 1 } };
      response.writeHead(value === undefined ? 400 : 200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, resolve);
  });
  return {
    endpoint: `http://${LOOPBACK}:${(server.address() as AddressInfo).port}`,
    putParameter: (name, value) => {
      parameters.set(name, value);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
