// Latest wins: at most one job runs; a job submitted while one runs replaces the one waiting, so a fast
// painter never builds a queue (the device's counterpart of the WebSocket's one frame in flight).

export class LatestWins {
  /** run(job) => Promise; onError(error) for a job that failed (the next one still runs). */
  constructor(run, onError = () => {}) {
    this.run = run;
    this.onError = onError;
    this.running = false;
    this.waiting = null;
  }

  get busy() { return this.running || this.waiting !== null; }

  submit(job) {
    this.waiting = job;
    this.pump();
  }

  async pump() {
    if (this.running || this.waiting === null) return;
    const job = this.waiting;
    this.waiting = null;
    this.running = true;
    try {
      await this.run(job);
    } catch (error) {
      this.onError(error);
    }
    this.running = false;
    this.pump();
  }
}
