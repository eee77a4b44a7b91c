/**
 * Bad input from an operator (CLI arguments, registration data): not an OAuth error.
 * The CLI prints its message as one line and exits with code 2.
 */
export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}
