/* The exported model on a Cortex-M4 (QEMU mps2-an386, semihosting): classifies the digits of
 * digits.c (written by harness.rs) and prints, for the host to compare with the library's
 * model:
 *
 *   mcu: DIGITS classes CLASSES
 *   bits: one class digit per image, from model_predict_bits
 *   grey: the same for the first DIGITS_GREY images, from model_predict_grey
 *   correct: N of DIGITS
 *   ticks: T for DIGITS inferences; calibration: I instructions in C ticks
 *   instructions per inference: P
 *
 * The count is exact only under `qemu-system-arm -icount shift=0`, where virtual time moves
 * one nanosecond per instruction: SysTick (on the core clock) then ticks at a fixed number of
 * instructions, which a loop of known length calibrates, so that nothing depends on the
 * board's clock frequency. Timed: the packed-bit inferences alone, without scores (the
 * deployed path), loop overhead included (a few instructions). Exits 1 (through exit(), so
 * that QEMU returns it) when a check here fails. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "digits.h"
#include "model.h"

#if DIGITS_WORDS != MODEL_INPUT_WORDS || DIGITS_PIXELS != MODEL_INPUTS
#error "digits.h and model.h disagree on the image size"
#endif
#if MODEL_CLASSES > 10
#error "classes are printed as one decimal digit each"
#endif

/* SysTick, the ARMv7-M system timer: 24 bits, counting down. */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu

/* Iterations of the calibration loop (two instructions each). */
#define CALIBRATION (1u << 22)

static volatile uint32_t wraps;

/* Counts SysTick periods, so that the 24-bit timer spans the whole run. */
void SysTick_Handler(void) { wraps++; }

/* A word in .data: nonzero only if startup.c copied .data to RAM. */
volatile uint32_t data_check = 0x600dda7au;

static void timer_start(void) {
    SYST_RVR = SYST_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 7; /* enable, interrupt on wrap, core clock */
    /* The counter reads 0 until its first reload, which is no wrap. */
    while (SYST_CVR == 0) {
    }
}

/* Ticks since timer_start. */
static uint64_t ticks(void) {
    uint32_t w, v;
    do {
        w = wraps;
        v = SYST_CVR;
    } while (w != wraps);
    return (uint64_t)w * (SYST_RELOAD + 1u) + (SYST_RELOAD - v);
}

/* Exactly 2 n instructions (n > 0): subtract, branch back. */
static void spin(uint32_t n) {
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

static uint8_t predicted[DIGITS_COUNT];

int main(void) {
    static float scores[MODEL_CLASSES];
    uint64_t t0, t1, c0, c1, cal;
    int i, k, correct = 0, failures = 0;

    if (data_check != 0x600dda7au) {
        printf("error: .data was not copied to RAM\n");
        exit(1);
    }
    printf("mcu: %d classes %d\n", DIGITS_COUNT, MODEL_CLASSES);
    timer_start();

    c0 = ticks();
    spin(CALIBRATION);
    c1 = ticks();

    t0 = ticks();
    for (i = 0; i < DIGITS_COUNT; i++) predicted[i] = (uint8_t)model_predict_bits(digits_bits[i], NULL);
    t1 = ticks();

    printf("bits: ");
    for (i = 0; i < DIGITS_COUNT; i++) {
        putchar('0' + predicted[i]);
        correct += predicted[i] == digits_labels[i];
    }
    printf("\ngrey: ");
    for (i = 0; i < DIGITS_GREY; i++) {
        int c = model_predict_grey(digits_grey[i], scores), best = 0;
        /* The scores agree with the class: the first largest wins. */
        for (k = 1; k < MODEL_CLASSES; k++)
            if (scores[k] > scores[best]) best = k;
        if (best != c) failures++;
        putchar('0' + c);
    }
    printf("\ncorrect: %d of %d\n", correct, DIGITS_COUNT);
    if (failures) printf("error: the scores disagree with the class for %d images\n", failures);

    cal = 2ull * CALIBRATION;
    printf("ticks: %llu for %d inferences; calibration: %llu instructions in %llu ticks\n",
           (unsigned long long)(t1 - t0), DIGITS_COUNT, (unsigned long long)cal,
           (unsigned long long)(c1 - c0));
    printf("instructions per inference: %llu\n",
           (unsigned long long)((t1 - t0) * cal / (c1 - c0) / DIGITS_COUNT));
    exit(failures ? 1 : 0);
}
