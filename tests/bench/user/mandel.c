/* mandel.c - floating point: Mandelbrot set escape counts. */
#include "bench.h"

int main(int argc, char **argv)
{
    int w = 1200, h = (int)(8900 * bench_scale(argc, argv)) + 1, maxit = 500;
    long total = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double cr = -2.2 + 3.2 * x / w, ci = -1.2 + 2.4 * (y % 800) / 800;
            double zr = 0, zi = 0;
            int it = 0;
            while (it < maxit && zr * zr + zi * zi < 4) {
                double t = zr * zr - zi * zi + cr;
                zi = 2 * zr * zi + ci;
                zr = t;
                it++;
            }
            total += it;
        }
    printf("mandel: %ld\n", total);
    return 0;
}
