/*
 * JUCX's JNI global references to its own classes, released when the bundle stops and taken again
 * when it starts (docs/architecture.md, hot swap).
 *
 * Why: JUCX 1.12.1's libjucx.so takes strong JNI global references to five of its classes in its
 * JNI_OnLoad (UcpRequest, UcpRemoteKey, UcpTagMessage, UcpEndpoint, UcpAmData) and deletes three of
 * them in JNI_OnUnload, which only runs once the class loader that loaded the library is collected.
 * A global reference is a GC root: it keeps the class, so the class loader, so the library itself.
 * Every retired revision of this bundle stayed loaded, its metaspace and its copy of libjucx.so
 * mapped, for the life of the JVM.
 *
 * The references are static variables of libjucx.so, not exported: they are found by name in the
 * library's ELF symbol table (.symtab, C++ names; the JUCX jar ships it unstripped). Only the copy of
 * libjucx.so whose classes belong to the caller's class loader is touched (each bundle revision
 * loads a copy of its own). A slot released is set to NULL, which JUCX's JNI_OnUnload skips. Taken
 * again (FindClass from a native method of this bundle resolves through the bundle's class loader)
 * before JUCX is used again in the same revision: a bundle stopped and started without an update.
 *
 * Called only while no JUCX code of this revision runs (the bundle's transports are closed, their
 * threads ended): JUCX would create objects of those classes from the released slots.
 */
#define _GNU_SOURCE
#include <jni.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLOTS 5

static const char *const SLOT_SYMBOLS[SLOTS] = {
    "jucx_request_cls", "ucp_rkey_cls", "ucp_tag_msg_cls", "jucx_endpoint_cls", "jucx_am_data_cls",
};
static const char *const SLOT_CLASSES[SLOTS] = {
    "org/openucx/jucx/ucp/UcpRequest", "org/openucx/jucx/ucp/UcpRemoteKey",
    "org/openucx/jucx/ucp/UcpTagMessage", "org/openucx/jucx/ucp/UcpEndpoint",
    "org/openucx/jucx/ucp/UcpAmData",
};

/* This library is loaded once per bundle revision, so these are per revision too. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static jclass *slots[SLOTS]; /* in this revision's libjucx.so, once found */

struct copy {
    char path[4096];
    ElfW(Addr) base;
};
/* Every loaded copy: retired revisions' copies stay mapped until a GC collects their class loaders. */
struct copies {
    struct copy *at;
    int n, capacity;
};

static int collect(struct dl_phdr_info *info, size_t size, void *data)
{
    struct copies *c = data;
    const char *name = info->dlpi_name;
    const char *base = name == NULL ? NULL : strrchr(name, '/');

    base = base == NULL ? name : base + 1;
    if (base == NULL || strncmp(base, "libjucx", 7) != 0 || strlen(name) >= sizeof(c->at[0].path)) {
        return 0;
    }
    if (c->n == c->capacity) {
        int more = c->capacity == 0 ? 16 : c->capacity * 2;
        struct copy *grown = realloc(c->at, (size_t)more * sizeof(struct copy));
        if (grown == NULL) {
            return 1; /* stops the iteration: the copies so far are searched */
        }
        c->at = grown;
        c->capacity = more;
    }
    strcpy(c->at[c->n].path, name);
    c->at[c->n].base = info->dlpi_addr;
    c->n++;
    return 0;
}

/* Whether a .symtab name is that static variable: libjucx is C++, so "_ZL16jucx_request_cls". */
static int is_symbol(const char *name, const char *variable)
{
    char mangled[64];

    snprintf(mangled, sizeof(mangled), "_ZL%zu%s", strlen(variable), variable);
    return strcmp(name, mangled) == 0 || strcmp(name, variable) == 0;
}

/* The addresses of the slots in one loaded copy, from its file's .symtab; 0 when not all are there. */
static int find_slots(const struct copy *c, jclass *found[SLOTS])
{
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    unsigned char *f;
    const ElfW(Ehdr) *eh;
    const ElfW(Shdr) *sh;
    int n = 0;

    if (fd < 0) {
        return 0;
    }
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(ElfW(Ehdr))) {
        close(fd);
        return 0;
    }
    f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f == MAP_FAILED) {
        return 0;
    }
    eh = (const ElfW(Ehdr) *)f;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64
            || eh->e_shentsize != sizeof(ElfW(Shdr)) || eh->e_shoff > (ElfW(Off))st.st_size
            || (ElfW(Off))eh->e_shnum * sizeof(ElfW(Shdr)) > (ElfW(Off))st.st_size - eh->e_shoff) {
        munmap(f, (size_t)st.st_size);
        return 0;
    }
    sh = (const ElfW(Shdr) *)(f + eh->e_shoff);
    for (int s = 0; s < eh->e_shnum; s++) {
        const ElfW(Shdr) *strs;
        if (sh[s].sh_type != SHT_SYMTAB || sh[s].sh_link >= eh->e_shnum || sh[s].sh_entsize != sizeof(ElfW(Sym))) {
            continue;
        }
        strs = &sh[sh[s].sh_link];
        if (sh[s].sh_offset > (ElfW(Off))st.st_size || sh[s].sh_size > (ElfW(Off))st.st_size - sh[s].sh_offset
                || strs->sh_offset > (ElfW(Off))st.st_size || strs->sh_size > (ElfW(Off))st.st_size - strs->sh_offset) {
            continue;
        }
        const ElfW(Sym) *sym = (const ElfW(Sym) *)(f + sh[s].sh_offset);
        const char *names = (const char *)(f + strs->sh_offset);
        for (size_t i = 0; i < sh[s].sh_size / sizeof(ElfW(Sym)); i++) {
            if (ELF64_ST_TYPE(sym[i].st_info) != STT_OBJECT || sym[i].st_size != sizeof(jclass)
                    || sym[i].st_name >= strs->sh_size) {
                continue;
            }
            const char *name = names + sym[i].st_name;
            if (memchr(name, '\0', strs->sh_size - sym[i].st_name) == NULL) {
                continue;
            }
            for (int k = 0; k < SLOTS; k++) {
                if (found[k] == NULL && is_symbol(name, SLOT_SYMBOLS[k])) {
                    found[k] = (jclass *)(c->base + sym[i].st_value);
                    n++;
                }
            }
        }
    }
    munmap(f, (size_t)st.st_size);
    return n == SLOTS;
}

/* Whether the class in a slot was loaded by the same loader as {@code mine}. */
static int same_loader(JNIEnv *env, jclass theirs, jclass mine)
{
    jclass class_class = (*env)->FindClass(env, "java/lang/Class");
    jmethodID get_loader;
    jobject a, b;
    int same;

    if (class_class == NULL) {
        (*env)->ExceptionClear(env);
        return 0;
    }
    get_loader = (*env)->GetMethodID(env, class_class, "getClassLoader", "()Ljava/lang/ClassLoader;");
    if (get_loader == NULL) {
        (*env)->ExceptionClear(env);
        return 0;
    }
    a = (*env)->CallObjectMethod(env, theirs, get_loader);
    b = (*env)->CallObjectMethod(env, mine, get_loader);
    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionClear(env);
        return 0;
    }
    same = (*env)->IsSameObject(env, a, b);
    (*env)->DeleteLocalRef(env, a);
    (*env)->DeleteLocalRef(env, b);
    (*env)->DeleteLocalRef(env, class_class);
    return same;
}

/* Finds this revision's copy among the loaded ones: the one whose UcpRequest slot holds our class. */
static int locate(JNIEnv *env, jclass mine)
{
    struct copies loaded = {NULL, 0, 0};
    int located = 0;

    dl_iterate_phdr(collect, &loaded);
    /* Newest first: this revision's copy was loaded last but for those of revisions started since. */
    for (int i = loaded.n - 1; i >= 0 && !located; i--) {
        jclass *found[SLOTS] = {NULL};
        if (find_slots(&loaded.at[i], found) && *found[0] != NULL && same_loader(env, *found[0], mine)) {
            memcpy(slots, found, sizeof(slots));
            located = 1;
        }
    }
    free(loaded.at);
    return located;
}

/* Releases the references: how many were released, or -1 when this revision's libjucx.so was not found. */
JNIEXPORT jint JNICALL Java_io_sanswitch_rdma_JucxClassReferences_release(JNIEnv *env, jclass cls)
{
    jint released = 0;

    pthread_mutex_lock(&lock);
    if (slots[0] == NULL && !locate(env, cls)) {
        pthread_mutex_unlock(&lock);
        return -1;
    }
    for (int k = 0; k < SLOTS; k++) {
        if (*slots[k] != NULL) {
            (*env)->DeleteGlobalRef(env, *slots[k]);
            *slots[k] = NULL;
            released++;
        }
    }
    pthread_mutex_unlock(&lock);
    return released;
}

/* Takes released references again: how many were taken, or -1 when a class could not be found. */
JNIEXPORT jint JNICALL Java_io_sanswitch_rdma_JucxClassReferences_hold(JNIEnv *env, jclass cls)
{
    jint taken = 0;

    pthread_mutex_lock(&lock);
    for (int k = 0; k < SLOTS && slots[0] != NULL; k++) {
        if (*slots[k] == NULL) {
            jclass local = (*env)->FindClass(env, SLOT_CLASSES[k]);
            if (local == NULL) {
                (*env)->ExceptionClear(env);
                pthread_mutex_unlock(&lock);
                return -1;
            }
            *slots[k] = (*env)->NewGlobalRef(env, local);
            (*env)->DeleteLocalRef(env, local);
            taken++;
        }
    }
    pthread_mutex_unlock(&lock);
    return taken;
}
