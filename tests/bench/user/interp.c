/* interp.c - integer: a bytecode interpreter (switch dispatch) running
 * a nested-loop program with arithmetic and a small memory. */
#include "bench.h"

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, MOD, JNZ, JMP, DUP, LT, HALT, XOR, SHL };

int main(int argc, char **argv)
{
    long outer = (long)(13500 * bench_scale(argc, argv)) + 1;
    /* mem[0]=i, mem[1]=j, mem[2]=acc */
    static const long prog[] = {
        PUSH, 0, STORE, 0,                       /* i = 0 */
        /* 4: outer loop */
        PUSH, 0, STORE, 1,                       /* j = 0 */
        /* 8: inner loop */
        LOAD, 2, LOAD, 1, MUL, LOAD, 0, XOR, PUSH, 1000003, MOD, LOAD, 2, ADD, STORE, 2,
        LOAD, 1, PUSH, 1, ADD, DUP, STORE, 1, PUSH, 10000, LT, JNZ, 8,
        LOAD, 0, PUSH, 1, ADD, DUP, STORE, 0, PUSH, -1, LT, JNZ, 4,
        HALT,
    };
    long code[sizeof(prog) / sizeof(prog[0])];
    for (size_t i = 0; i < sizeof(prog) / sizeof(prog[0]); i++) code[i] = prog[i];
    code[sizeof(prog) / sizeof(prog[0]) - 5] = outer;   /* patch the outer bound (the -1) */
    long mem[3] = { 0, 0, 1 }, stack[64];
    int sp = 0;
    long pc = 0;
    for (;;) {
        long op = code[pc++];
        switch (op) {
        case PUSH: stack[sp++] = code[pc++]; break;
        case LOAD: stack[sp++] = mem[code[pc++]]; break;
        case STORE: mem[code[pc++]] = stack[--sp]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case MOD: sp--; stack[sp - 1] %= stack[sp]; break;
        case XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case SHL: sp--; stack[sp - 1] <<= stack[sp]; break;
        case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case JNZ: { long t = code[pc++]; if (stack[--sp]) pc = t; break; }
        case JMP: pc = code[pc]; break;
        case HALT: printf("interp: %ld\n", mem[2]); return 0;
        }
    }
}
