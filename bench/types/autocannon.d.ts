/** The part of autocannon's programmatic API that the bench uses (the package ships no types). */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Options {
      url: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      connections?: number;
      /** Seconds. */
      duration?: number;
      setupClient?: (client: Client) => void;
    }

    /** One connection's client; emits 'headers' with the parser's view of each response head. */
    interface Client extends EventEmitter {
      /** Internal: writes the next request on the current connection. */
      _doRequest(): void;
    }

    interface ResponseHead {
      statusCode: number;
      shouldKeepAlive: boolean;
    }

    interface Result {
      errors: number;
      timeouts: number;
      non2xx: number;
    }

    /** Emits 'response' (client, statusCode, responseBytes, responseTimeMs) for every response. */
    type Instance = EventEmitter;
  }

  function autocannon(options: autocannon.Options, done: (error: Error | null, result: autocannon.Result) => void): autocannon.Instance;

  export = autocannon;
}
