/**
 * Opening a serial port (node-serialport) with one clear error line, for tools/flash.ts and tools/console.ts.
 */
import { SerialPort } from 'serialport';

export function openSerial(path: string, baudRate: number): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    port.open((err) => {
      if (err) {
        const m = /No such file or directory|ENOENT/.test(err.message) ? 'no such device' : /Permission denied|EACCES/.test(err.message) ? 'permission denied (are you in the dialout group?)' : err.message.replace(/^Error: /, '');
        reject(new Error(`cannot open ${path}: ${m}`));
        return;
      }
      // Drop whatever the adapter buffered while nobody listened (stale prompts would mislead the tools).
      port.flush(() => resolve(port));
    });
  });
}
