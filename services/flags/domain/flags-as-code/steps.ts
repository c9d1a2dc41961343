/** Instructions of a plan item with their summary lines, built together. */
export type Instruction = Record<string, unknown>;

export class Steps {
  readonly instructions: Instruction[] = [];
  readonly summary: string[] = [];
  add(text: string, instruction: Instruction) {
    this.instructions.push(instruction);
    this.summary.push(text);
  }
}

