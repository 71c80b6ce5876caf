/* hello.c - the smallest end-to-end check: libc start-up, stdio, argv,
 * environment, exit status. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    printf("hello, world\n");
    for (int i = 1; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    const char *v = getenv("EMU_TEST_VAR");
    printf("EMU_TEST_VAR = %s\n", v ? v : "(unset)");
    return argc + 40;
}
