import { PowerShellRunner, type PowerShellRunnerOptions } from '../../lib/powershell/session';
import { findPwsh } from './tools';

/** A runner over the real pwsh the tests found. */
export function newRunner(options: PowerShellRunnerOptions = {}): PowerShellRunner {
  return new PowerShellRunner({ executable: findPwsh(), ...options });
}
