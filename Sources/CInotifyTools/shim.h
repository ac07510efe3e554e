#ifndef VOLUMED_CINOTIFYTOOLS_SHIM_H
#define VOLUMED_CINOTIFYTOOLS_SHIM_H

// <sys/inotify.h> must come first: inotifytools.h only forward-declares the event.
#include <sys/inotify.h>
#include <inotifytools/inotifytools.h>

// Swift drops the flexible `name[]` member of inotify_event.
static inline const char *volumed_inotify_event_name(const struct inotify_event *event) {
    return event->len > 0 ? event->name : "";
}

#endif
