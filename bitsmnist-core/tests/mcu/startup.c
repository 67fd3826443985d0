/* Reset and exception vectors for the Cortex-M4 of QEMU's mps2-an386, in front of newlib's
 * semihosting runtime (rdimon). mps2-an386.ld puts `vectors` at address 0, where the core
 * reads its initial stack pointer and first PC at reset; the reset handler does the one thing
 * rdimon's `_start` leaves out, copying .data from flash to RAM, then hands over to `_start`
 * (which zeroes .bss, sets up the heap, stdio and argv, and calls main and exit).
 *
 * A fault must not leave QEMU spinning until a timeout: every exception but SysTick (main.c
 * counts its wraps) reports which one it was and stops the emulator with a failure. */

#include <stdint.h>

/* From mps2-an386.ld. */
extern uint32_t __data_start__[], __data_end__[], __data_load__[], __stack[];
/* newlib's crt0 (rdimon-crt0.o). */
extern void _start(void) __attribute__((noreturn));

void Reset_Handler(void) __attribute__((noreturn));
void Fault_Handler(void) __attribute__((noreturn));
void SysTick_Handler(void);

/* Semihosting call `op` with argument `arg` (BKPT 0xAB, as rdimon makes them). */
static uint32_t semihost(uint32_t op, uintptr_t arg) {
    register uint32_t r0 __asm__("r0") = op;
    register uintptr_t r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void Reset_Handler(void) {
    uint32_t *src = __data_load__, *dst = __data_start__;
    while (dst < __data_end__) *dst++ = *src++;
    _start();
}

void Fault_Handler(void) {
    static const char names[16][12] = {
        "?", "reset", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault", "?",
        "?", "?", "?", "SVCall", "DebugMon", "?", "PendSV", "SysTick",
    };
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    semihost(0x04, (uintptr_t) "startup.c: unexpected exception ");   /* SYS_WRITE0 */
    semihost(0x04, (uintptr_t)(ipsr < 16 ? names[ipsr] : "IRQ"));
    semihost(0x04, (uintptr_t) "\n");
    for (;;) semihost(0x18, 0x20023);   /* SYS_EXIT, ADP_Stopped_RunTimeErrorUnknown */
}

/* main.c counts the timer's wraps; anything else using this file faults on the first one. */
__attribute__((weak)) void SysTick_Handler(void) { Fault_Handler(); }

/* The core's 16 system vectors (no peripheral interrupt is enabled). */
__attribute__((section(".vectors"), used)) const uintptr_t vectors[16] = {
    (uintptr_t)__stack,
    (uintptr_t)Reset_Handler,
    (uintptr_t)Fault_Handler, /* NMI */
    (uintptr_t)Fault_Handler, /* HardFault */
    (uintptr_t)Fault_Handler, /* MemManage */
    (uintptr_t)Fault_Handler, /* BusFault */
    (uintptr_t)Fault_Handler, /* UsageFault */
    0, 0, 0, 0,
    (uintptr_t)Fault_Handler, /* SVCall */
    (uintptr_t)Fault_Handler, /* DebugMon */
    0,
    (uintptr_t)Fault_Handler, /* PendSV */
    (uintptr_t)SysTick_Handler,
};
