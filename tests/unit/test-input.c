/* test-input.c - the input core (lib/input.c): which handler gets which
 * kind (the newest, activation brings an older one back), sync only to
 * those that got events, bad codes dropped, absolute positions scaled to
 * both ends, LEDs; and the key names (lib/input-keys.c) both ways. */
#include <config.h>
#include <linux/input-event-codes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "input.h"
#include "unit.h"

struct rec {
    struct input_event ev[16];
    int n, syncs;
};

static void rec_event(void *opaque, const struct input_event *ev)
{
    struct rec *r = opaque;
    if (r->n < 16)
        r->ev[r->n] = *ev;
    r->n++;
}

static void rec_sync(void *opaque)
{
    ((struct rec *)opaque)->syncs++;
}

static const struct input_handler_ops kbd_ops = {
    .name = "kbd", .mask = INPUT_MASK(INPUT_KEY), .event = rec_event, .sync = rec_sync,
};
static const struct input_handler_ops tablet_ops = {
    .name = "tablet", .mask = INPUT_MASK(INPUT_BTN) | INPUT_MASK(INPUT_ABS),
    .event = rec_event, .sync = rec_sync,
};
static const struct input_handler_ops mouse_ops = {
    .name = "mouse", .mask = INPUT_MASK(INPUT_BTN) | INPUT_MASK(INPUT_REL),
    .event = rec_event, /* no sync: optional */
};

static void test_names(void)
{
    CHECK(input_qcode_to_linux("a") == KEY_A);
    CHECK(input_qcode_to_linux("ret") == KEY_ENTER);
    CHECK(input_qcode_to_linux("spc") == KEY_SPACE);
    CHECK(input_qcode_to_linux("ctrl_r") == KEY_RIGHTCTRL);
    CHECK(input_qcode_to_linux("meta_l") == KEY_LEFTMETA);
    CHECK(input_qcode_to_linux("f12") == KEY_F12);
    CHECK(input_qcode_to_linux("power") == KEY_POWER);
    CHECK(input_qcode_to_linux("0") == KEY_0);
    CHECK(input_qcode_to_linux("A") == -1);     /* names are case-sensitive, as qemu's */
    CHECK(input_qcode_to_linux("") == -1);
    CHECK(input_qcode_to_linux(NULL) == -1);
    CHECK(input_qcode_to_linux("ctrl-alt") == -1);
    CHECK(strcmp(input_linux_to_qcode(KEY_KPASTERISK), "kp_multiply") == 0);
    CHECK(input_linux_to_qcode(KEY_MAX) == NULL);
    /* every name maps back to itself or to the first name of its code */
    const char *n;
    for (size_t i = 0; (n = input_qcode_name(i)); i++) {
        int c = input_qcode_to_linux(n);
        CHECK(c > 0 && c <= INPUT_KEY_MAX);
        CHECK(input_qcode_to_linux(input_linux_to_qcode((unsigned)c)) == c);
    }
    /* scancode numbers */
    CHECK(input_number_to_linux(0x1e) == KEY_A);
    CHECK(input_number_to_linux(0x1c) == KEY_ENTER);
    CHECK(input_number_to_linux(0x9c) == KEY_KPENTER);
    CHECK(input_number_to_linux(0xc8) == KEY_UP);
    CHECK(input_number_to_linux(0) == -1);
    CHECK(input_number_to_linux(-1) == -1);
    CHECK(input_number_to_linux(0x100) == -1);
    CHECK(input_number_to_linux(INT64_MAX) == -1);
}

static void test_routing(void)
{
    struct rec kbd = { 0 }, tab = { 0 }, mouse = { 0 };
    struct input_handler *hk, *ht, *hm;
    CHECK(!input_has_handler(INPUT_KEY));
    uint64_t d0 = input_dropped();
    input_key(KEY_A, true);
    CHECK(input_dropped() == d0 + 1);

    CHECK(input_handler_register(&hk, &kbd_ops, &kbd, NULL) == 0);
    CHECK(input_handler_register(&ht, &tablet_ops, &tab, NULL) == 0);
    CHECK(input_has_handler(INPUT_KEY) && input_has_handler(INPUT_ABS));
    CHECK(!input_has_handler(INPUT_REL));

    input_key(KEY_A, true);
    input_sync();
    CHECK(kbd.n == 1 && kbd.ev[0].kind == INPUT_KEY && kbd.ev[0].code == KEY_A && kbd.ev[0].down);
    CHECK(kbd.syncs == 1 && tab.syncs == 0);    /* only who got events */
    input_sync();
    CHECK(kbd.syncs == 1);

    /* bad codes never reach a handler */
    d0 = input_dropped();
    input_key(0, true);
    input_key(INPUT_KEY_MAX + 1, true);
    input_button(INPUT_BTN__MAX, true);
    input_send(&(struct input_event){ .kind = INPUT_ABS, .code = 2 });
    input_send(&(struct input_event){ .kind = (enum input_kind)9 });
    CHECK(kbd.n == 1 && tab.n == 0);
    CHECK(input_dropped() == d0 + 5);

    /* absolute positions: both ends map onto both ends, clamped */
    input_abs(INPUT_AXIS_X, 0, 640);
    input_abs(INPUT_AXIS_Y, 479, 480);
    input_abs(INPUT_AXIS_X, 5000, 640);
    input_abs(INPUT_AXIS_X, -3, 640);
    input_abs(INPUT_AXIS_X, 7, 1);
    input_abs(INPUT_AXIS_X, 320, 641);
    input_send(&(struct input_event){ .kind = INPUT_ABS, .code = INPUT_AXIS_Y, .value = 99999 });
    input_send(&(struct input_event){ .kind = INPUT_ABS, .code = INPUT_AXIS_Y, .value = -5 });
    CHECK(tab.n == 8);
    CHECK(tab.ev[0].value == 0 && tab.ev[0].code == INPUT_AXIS_X);
    CHECK(tab.ev[1].value == INPUT_ABS_MAX && tab.ev[1].code == INPUT_AXIS_Y);
    CHECK(tab.ev[2].value == INPUT_ABS_MAX);
    CHECK(tab.ev[3].value == 0);
    CHECK(tab.ev[4].value == 0);
    CHECK(tab.ev[5].value == INPUT_ABS_MAX / 2);
    CHECK(tab.ev[6].value == INPUT_ABS_MAX && tab.ev[7].value == 0);
    input_sync();
    CHECK(tab.syncs == 1);

    /* a mouse: relative motion to it; buttons to the newest pointer */
    CHECK(input_handler_register(&hm, &mouse_ops, &mouse, NULL) == 0);
    CHECK(input_current_pointer() == 2);
    tab.n = 0;
    input_rel(INPUT_AXIS_X, -7);
    input_button(INPUT_BTN_LEFT, true);
    input_sync();   /* the mouse has no sync: fine */
    CHECK(mouse.n == 2 && mouse.ev[0].value == -7 && mouse.ev[1].kind == INPUT_BTN);
    CHECK(tab.n == 0);
    input_handler_activate(ht);
    CHECK(input_current_pointer() == 1);
    input_button(INPUT_BTN_RIGHT, false);
    CHECK(tab.n == 1 && tab.ev[0].code == INPUT_BTN_RIGHT && !tab.ev[0].down);
    input_rel(INPUT_AXIS_Y, 3);     /* the tablet takes no REL: still the mouse */
    CHECK(mouse.n == 3);

    /* listing */
    struct input_handler_info info[4];
    CHECK(input_handlers(info, 4) == 3);
    CHECK(strcmp(info[0].name, "kbd") == 0 && info[0].index == 0 &&
          info[0].active_mask == INPUT_MASK(INPUT_KEY));
    CHECK(info[1].active_mask == (INPUT_MASK(INPUT_BTN) | INPUT_MASK(INPUT_ABS)));
    CHECK(info[2].active_mask == INPUT_MASK(INPUT_REL));
    CHECK(input_handlers(info, 1) == 3);
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    input_list(fp);
    fclose(fp);
    CHECK_CONTAINS(text, "#0 kbd key active:key\n");
    CHECK_CONTAINS(text, "#2 mouse btn,rel active:rel\n");
    free(text);

    /* a second keyboard takes over; unregistering it hands back */
    struct rec kbd2 = { 0 };
    struct input_handler *hk2;
    CHECK(input_handler_register(&hk2, &kbd_ops, &kbd2, NULL) == 0);
    input_key(KEY_B, true);
    CHECK(kbd2.n == 1 && kbd.n == 1);
    input_handler_unregister(hk2);
    input_key(KEY_B, false);
    CHECK(kbd2.n == 1 && kbd.n == 2);

    input_handler_unregister(hk);
    input_handler_unregister(ht);
    input_handler_unregister(hm);
    input_handler_unregister(NULL);
    CHECK(!input_has_handler(INPUT_KEY) && input_current_pointer() == -1);
}

static void test_leds(void)
{
    CHECK(input_get_leds() == 0);
    input_set_leds(INPUT_LED_CAPS | INPUT_LED_NUM);
    CHECK(input_get_leds() == (INPUT_LED_CAPS | INPUT_LED_NUM));
    input_set_leds(0xff);
    CHECK(input_get_leds() == (INPUT_LED_CAPS | INPUT_LED_NUM | INPUT_LED_SCROLL));
    input_set_leds(0);
}

int main(void)
{
    test_names();
    test_routing();
    test_leds();
    return unit_result();
}
