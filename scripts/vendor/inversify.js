export * from 'inversify';
