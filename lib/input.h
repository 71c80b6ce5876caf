/* input.h - keyboard and pointer events, between those who make them (the
 * display back ends, the monitor's sendkey and input-send-event) and the
 * device models that hand them to the guest (virtio-input).
 *
 * Keys are named by Linux input key codes (<linux/input-event-codes.h>:
 * KEY_A, KEY_LEFTCTRL, ...): virtio-input carries exactly those, and every
 * other name (SDL scancodes, qemu's QKeyCodes) maps onto them.  Absolute
 * pointer positions are scaled to 0..INPUT_ABS_MAX on each axis, so that a
 * window of any size maps 1:1 onto the guest's screen without a grab.
 *
 * Handlers (device models) register with the kinds of event they take.
 * An event goes to the most recently activated handler that takes its
 * kind, as in qemu (a keyboard and a tablet each get their own kinds).
 * input_sync() ends a group of events (one key, one pointer motion with
 * its buttons): handlers deliver at the sync.
 *
 * Threads: senders call from the loop thread.  Handlers are called in the
 * sender's thread with the input core's mutex held; they take their own
 * device lock and must not call back into the input core.
 */
#ifndef EMU_INPUT_H
#define EMU_INPUT_H

#include <stdio.h>
#include "common.h"
#include "error.h"

#define INPUT_ABS_MAX 32767

enum input_kind {
    INPUT_KEY,                  /* code: Linux key code; down */
    INPUT_BTN,                  /* code: enum input_button; down */
    INPUT_ABS,                  /* code: enum input_axis; value 0..INPUT_ABS_MAX */
    INPUT_REL,                  /* code: enum input_axis; value: the motion */
};
#define INPUT_MASK(kind) (1u << (kind))

enum input_button {
    INPUT_BTN_LEFT,
    INPUT_BTN_MIDDLE,
    INPUT_BTN_RIGHT,
    INPUT_BTN_WHEEL_UP,
    INPUT_BTN_WHEEL_DOWN,
    INPUT_BTN_SIDE,
    INPUT_BTN_EXTRA,
    INPUT_BTN__MAX
};

enum input_axis { INPUT_AXIS_X, INPUT_AXIS_Y, INPUT_AXIS__MAX };

struct input_event {
    enum input_kind kind;
    unsigned code;
    bool down;
    int32_t value;
};

/* Keyboard LEDs the guest set (INPUT_LED_* bits). */
#define INPUT_LED_NUM 1u
#define INPUT_LED_CAPS 2u
#define INPUT_LED_SCROLL 4u

struct input_handler;

struct input_handler_ops {
    const char *name;           /* for info mice / query-mice */
    unsigned mask;              /* INPUT_MASK() of the kinds taken */
    void (*event)(void *opaque, const struct input_event *ev);
    void (*sync)(void *opaque); /* optional */
};

/* ---- for device models ---- */
int input_handler_register(struct input_handler **out, const struct input_handler_ops *ops,
                           void *opaque, struct error **errp);
void input_handler_unregister(struct input_handler *h);
/* Make H the one that gets its kinds (the newest registered is active). */
void input_handler_activate(struct input_handler *h);
/* The guest set its keyboard LEDs (any thread). */
void input_set_leds(unsigned leds);

/* ---- for back ends and the monitor (loop thread) ---- */
void input_send(const struct input_event *ev);
void input_sync(void);
/* Shorthands that send one event (no sync). */
void input_key(unsigned linux_code, bool down);
void input_button(enum input_button b, bool down);
/* POS on an axis of SIZE pixels (a window, a screen), scaled. */
void input_abs(enum input_axis axis, int64_t pos, int64_t size);
void input_rel(enum input_axis axis, int32_t delta);
/* Whether some handler takes KIND (a back end may grab the pointer only
 * when no absolute pointer is there). */
bool input_has_handler(enum input_kind kind);
unsigned input_get_leds(void);
/* Every handler: "name kinds active" lines (HMP info mice). */
void input_list(FILE *fp);

/* One registered handler, as query-mice and info mice show it. */
struct input_handler_info {
    int index;                  /* in registration order, from 0 */
    char name[64];
    unsigned mask;
    /* For each kind it takes: whether it is the one that gets that kind. */
    unsigned active_mask;
};
/* Fill up to MAX entries, oldest first; returns how many there are. */
int input_handlers(struct input_handler_info *out, int max);
/* The pointer that gets buttons: the newest activated one taking INPUT_BTN
 * (qemu's "current" mouse); -1 when none. */
int input_current_pointer(void);
/* Events the core dropped: no handler took their kind, or a bad code. */
uint64_t input_dropped(void);

/* ---- key names (input-keys.c) ---- */
/* qemu's QKeyCode names ("a", "ctrl", "alt_r", "f1", "ret", ...) to Linux
 * key codes and back; -1 / NULL when unknown. */
int input_qcode_to_linux(const char *qcode);
const char *input_linux_to_qcode(unsigned code);
/* The Ith name of the table (NULL past its end), to list them. */
const char *input_qcode_name(size_t i);
/* qemu's "number" key values: a PC scancode of set 1, 0x80 | the second
 * byte for the 0xe0-prefixed keys; -1 when it names no key. */
int input_number_to_linux(int64_t number);
/* The largest Linux key code the core passes on (KEY_MAX of the ABI). */
#define INPUT_KEY_MAX 0x2ff

#endif
