import { randomBytes } from 'node:crypto';
import type { IdGenerator } from '../../ports/id-generator.js';

export class CryptoIds implements IdGenerator {
  taskId(): string {
    return `loom-${randomBytes(4).toString('hex')}`;
  }
  projectId(): string {
    return `prj-${randomBytes(6).toString('hex')}`;
  }
  escalationId(): string {
    return `esc-${randomBytes(6).toString('hex')}`;
  }
  leaseToken(): string {
    return `lease-${randomBytes(16).toString('base64url')}`;
  }
  random(): number {
    return randomBytes(6).readUIntBE(0, 6) / 2 ** 48;
  }
}
