/* pool.c - the registry of loaded models, their instances and requests
 * (see pool.h).
 *
 * DESIGN: two levels of sharing, two kinds of lock.
 *   Registry: a mutex-protected array of entries {name, current model,
 *   version, reason}.  The lock is held only to read or swap a pointer and
 *   bump a refcount, never while a model loads or runs: pool_load prepares
 *   the new version completely (open, graph, task check, every session)
 *   with no lock held but load_lock, which only serialises loads, unloads
 *   and pool_free against one another; then swaps it in and drops the
 *   registry's reference to the old one.  Requests that hold the old one
 *   finish on it; it is freed by whoever drops the last reference.
 *   Model: immutable after load except its free list of sessions (mutex +
 *   condvar).  A request takes a session, waiting while `waiting <
 *   max_queue`; past that it gets POOL_QUEUE_FULL at once (503 +
 *   Retry-After), so a burst cannot pile up unbounded threads.
 * pool_free waits for every model it ever made to be destroyed (reg->live
 * counts them), so a request still holding a model cannot touch a freed
 * registry.
 *
 * pool_model is the public head of pool_impl (its first member): handlers
 * see the immutable description, the rest stays here.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "labels.h"
#include "preprocess.h"
#include "repository.h"
#include "task.h"

#define POOL_DEFAULT_INSTANCES 2
#define POOL_DEFAULT_THREADS 1
#define POOL_DEFAULT_MAX_QUEUE 64
#define POOL_DEFAULT_MAX_PIXELS 40000000LL

typedef struct pool_impl {
	pool_model pub;            /* first: pool_model * and pool_impl * are the same address */
	atomic_int refs;           /* the registry's (while current) + one per pool_get */
	pool_registry *reg;        /* counts this model in reg->live; NULL when standalone */
	tfl_model *model;          /* owned; pub.model borrows it */
	nn_graph *graph;           /* owned; pub.graph borrows it */
	ls_labels labels;          /* owned; pub.labels borrows it */
	const task_ops *ops;
	void *task_state;          /* made by ops->prepare */
	int64_t max_pixels;        /* decoded image limit for this model's requests */
	pthread_mutex_t lock;      /* guards free_list, n_free, waiting */
	pthread_cond_t freed;      /* a session went back to the free list */
	nn_session **sessions;     /* all instances (for freeing) */
	nn_session **free_list;    /* the first n_free are free */
	int n_sessions, n_free;
	int waiting;               /* requests blocked in pool_session_acquire */
	atomic_llong inferences;   /* invokes so far */
} pool_impl;

typedef struct pool_entry {
	char name[REPO_NAME_MAX + 1];
	pool_impl *cur;            /* the registry's reference; NULL when not loaded */
	int64_t version;           /* of cur, or of the last attempt (0 = unknown) */
	char reason[NN_ERR_MSG_MAX]; /* why not loaded (or why a reload failed) */
} pool_entry;

struct pool_registry {
	char dir[4096];
	pool_defaults def;         /* filled: no zero/negative "use default" values left */
	pthread_mutex_t lock;      /* entries, live */
	pthread_mutex_t load_lock; /* one load / unload / free at a time */
	pthread_cond_t live_cond;  /* live dropped */
	pool_entry *entries;
	int n_entries, cap_entries;
	int live;                  /* models made for this registry and not yet destroyed */
};

double pool_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static pool_impl *impl_of(pool_model *m)
{
	return (pool_impl *)m;
}

static void defaults_fill(pool_defaults *d, const pool_defaults *in)
{
	d->instances = in && in->instances > 0 ? in->instances : POOL_DEFAULT_INSTANCES;
	d->threads = in && in->threads > 0 ? in->threads : POOL_DEFAULT_THREADS;
	/* 0 is a real setting (no waiting at all); only negative means default */
	d->max_queue = in && in->max_queue >= 0 ? in->max_queue : POOL_DEFAULT_MAX_QUEUE;
	d->max_pixels = in && in->max_pixels > 0 ? in->max_pixels : POOL_DEFAULT_MAX_PIXELS;
	if (d->instances > REPO_MAX_INSTANCES)
		d->instances = REPO_MAX_INSTANCES;
	if (d->threads > NN_MAX_THREADS)
		d->threads = NN_MAX_THREADS;
	if (d->max_queue > REPO_MAX_QUEUE)
		d->max_queue = REPO_MAX_QUEUE;
	d->log = in ? in->log : NULL;
}

static void pool_log(const pool_registry *r, bool warning, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void pool_log(const pool_registry *r, bool warning, const char *fmt, ...)
{
	char line[NN_ERR_MSG_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->def.log)
		r->def.log(warning, line);
	else
		fprintf(stderr, "%s\n", line);
}

/* ---- one model --------------------------------------------------------- */

static void impl_destroy(pool_impl *p)
{
	pool_registry *reg = p->reg;

	for (int i = 0; i < p->n_sessions; i++)
		nn_session_free(p->sessions[i]);
	free(p->sessions);
	free(p->free_list);
	if (p->ops && p->ops->free && p->task_state)
		p->ops->free(p->task_state);
	nn_graph_free(p->graph);
	tfl_model_free(p->model);
	ls_labels_free(&p->labels);
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->lock);
	free(p);
	if (reg) {
		/* last touch of the registry: pool_free may free it right after */
		pthread_mutex_lock(&reg->lock);
		reg->live--;
		pthread_cond_broadcast(&reg->live_cond);
		pthread_mutex_unlock(&reg->lock);
	}
}

/* Opens, prepares and instantiates one model file.  labels_path may be
 * NULL; when labels_required is false a missing label file is fine.  On
 * success *out has one reference. */
static pool_status impl_build(pool_registry *reg, const char *path, const char *name, int64_t version,
			      const repo_config *cfg, const char *labels_path, bool labels_required,
			      const pool_defaults *def, pool_impl **out, nn_err *err)
{
	pool_impl *p;
	pool_model *m;
	pool_status ps = POOL_FAILED;
	double t0 = pool_now_ms();
	char msg[NN_ERR_MSG_MAX];

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
		return POOL_FAILED;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	atomic_init(&p->refs, 1);
	atomic_init(&p->inferences, 0);
	p->max_pixels = def->max_pixels;
	if (reg) {
		p->reg = reg;
		pthread_mutex_lock(&reg->lock);
		reg->live++;
		pthread_mutex_unlock(&reg->lock);
	}
	m = &p->pub;
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->version = version;
	if (strlen(path) >= sizeof(m->path)) {
		nn_err_set(err, NN_ERR_INVALID_ARG, "model path is longer than %zu bytes", sizeof(m->path) - 1);
		goto fail;
	}
	snprintf(m->path, sizeof(m->path), "%s", path);

	if (tfl_model_open(path, &p->model, err) != NN_OK) {
		if (err && err->code == NN_ERR_IO)
			ps = POOL_NOT_FOUND;
		goto fail;
	}
	m->model = p->model;
	m->file_bytes = p->model->size;

	if (labels_path && (labels_required || access(labels_path, F_OK) == 0)) {
		if (ls_labels_load(labels_path, &p->labels, msg, sizeof(msg)) != 0) {
			nn_err_set(err, NN_ERR_BAD_MODEL, "labels: %s", msg);
			goto fail;
		}
		m->labels = (const char *const *)p->labels.label;
		m->n_labels = p->labels.n;
	}
	m->task = cfg && cfg->has_task ? cfg->task : repo_infer_task(p->model, m->labels ? m->n_labels : -1);

	if (nn_graph_create(p->model, &p->graph, err) != NN_OK)
		goto fail;
	m->graph = p->graph;
	if (nn_graph_n_inputs(p->graph) > 0)
		pre_defaults(nn_graph_input(p->graph, 0), cfg, &m->pre);
	m->instances = cfg && cfg->instances > 0 ? cfg->instances : def->instances;
	m->threads = cfg && cfg->threads > 0 ? cfg->threads : def->threads;
	m->max_queue = cfg && cfg->max_queue >= 0 ? cfg->max_queue : def->max_queue;

	p->ops = task_ops_for(m->task);
	if (p->ops->prepare && p->ops->prepare(m, &p->task_state, err) != NN_OK) {
		nn_err_prefix(err, "task %s", pool_task_name(m->task));
		goto fail;
	}

	p->sessions = calloc((size_t)m->instances, sizeof(*p->sessions));
	p->free_list = calloc((size_t)m->instances, sizeof(*p->free_list));
	if (!p->sessions || !p->free_list) {
		nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory");
		goto fail;
	}
	for (int i = 0; i < m->instances; i++) {
		if (nn_session_create(p->graph, m->threads, &p->sessions[i], err) != NN_OK)
			goto fail;
		p->n_sessions++;
		p->free_list[p->n_free++] = p->sessions[i];
	}
	m->load_ms = pool_now_ms() - t0;
	*out = p;
	return POOL_OK;
fail:
	impl_destroy(p);
	return ps;
}

void pool_put(pool_model *m)
{
	pool_impl *p;

	if (!m)
		return;
	p = impl_of(m);
	if (atomic_fetch_sub(&p->refs, 1) == 1)
		impl_destroy(p);
}

pool_status pool_model_open_file(const char *path, const char *name, const repo_config *cfg,
				 const char *labels_path, const pool_defaults *defaults, pool_model **out,
				 nn_err *err)
{
	pool_defaults def;
	pool_impl *p;
	pool_status ps;

	*out = NULL;
	defaults_fill(&def, defaults);
	ps = impl_build(NULL, path, name ? name : "model", 1, cfg, labels_path, labels_path != NULL, &def, &p, err);
	if (ps == POOL_OK)
		*out = &p->pub;
	return ps;
}

/* ---- sessions ------------------------------------------------------------ */

pool_status pool_session_acquire(pool_model *m, nn_session **s, double *queue_ms, nn_err *err)
{
	pool_impl *p = impl_of(m);
	double t0 = pool_now_ms();

	*s = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->n_free == 0) {
		if (p->waiting >= m->max_queue) {
			int w = p->waiting;
			pthread_mutex_unlock(&p->lock);
			nn_err_set(err, NN_ERR_NO_MEMORY,
				   "model %s: all %d instances are busy and %d requests wait (max_queue %d); retry later",
				   m->name, m->instances, w, m->max_queue);
			return POOL_QUEUE_FULL;
		}
		p->waiting++;
		while (p->n_free == 0)
			pthread_cond_wait(&p->freed, &p->lock);
		p->waiting--;
	}
	*s = p->free_list[--p->n_free];
	pthread_mutex_unlock(&p->lock);
	if (queue_ms)
		*queue_ms = pool_now_ms() - t0;
	return POOL_OK;
}

void pool_session_release(pool_model *m, nn_session *s)
{
	pool_impl *p = impl_of(m);

	if (!s)
		return;
	pthread_mutex_lock(&p->lock);
	p->free_list[p->n_free++] = s;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

void pool_model_stats(pool_model *m, pool_stats *out)
{
	pool_impl *p = impl_of(m);

	pthread_mutex_lock(&p->lock);
	out->queue_depth = p->waiting;
	pthread_mutex_unlock(&p->lock);
	out->inferences = atomic_load(&p->inferences);
}

/* ---- registry ------------------------------------------------------------ */

pool_registry *pool_create(const char *dir, const pool_defaults *defaults)
{
	pool_registry *r;

	if (!dir || strlen(dir) >= sizeof(r->dir))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	defaults_fill(&r->def, defaults);
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->load_lock, NULL);
	pthread_cond_init(&r->live_cond, NULL);
	return r;
}

void pool_free(pool_registry *r)
{
	pool_entry *entries;
	int n;

	if (!r)
		return;
	pthread_mutex_lock(&r->load_lock);
	pthread_mutex_lock(&r->lock);
	entries = r->entries;
	n = r->n_entries;
	r->entries = NULL;
	r->n_entries = r->cap_entries = 0;
	pthread_mutex_unlock(&r->lock);
	for (int i = 0; i < n; i++)
		pool_put(entries[i].cur ? &entries[i].cur->pub : NULL);
	free(entries);
	/* requests still holding a model finish before the registry goes */
	pthread_mutex_lock(&r->lock);
	while (r->live > 0)
		pthread_cond_wait(&r->live_cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_unlock(&r->load_lock);
	pthread_cond_destroy(&r->live_cond);
	pthread_mutex_destroy(&r->load_lock);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Caller holds r->lock. */
static pool_entry *entry_find(pool_registry *r, const char *name)
{
	for (int i = 0; i < r->n_entries; i++)
		if (!strcmp(r->entries[i].name, name))
			return &r->entries[i];
	return NULL;
}

/* Caller holds r->lock.  Keeps the array sorted by name (the index order). */
static pool_entry *entry_get(pool_registry *r, const char *name)
{
	pool_entry *e = entry_find(r, name);
	int at = 0;

	if (e)
		return e;
	if (r->n_entries == r->cap_entries) {
		int nc = r->cap_entries ? r->cap_entries * 2 : 16;
		pool_entry *ne = realloc(r->entries, (size_t)nc * sizeof(*ne));
		if (!ne)
			return NULL;
		r->entries = ne;
		r->cap_entries = nc;
	}
	while (at < r->n_entries && strcmp(r->entries[at].name, name) < 0)
		at++;
	memmove(&r->entries[at + 1], &r->entries[at], (size_t)(r->n_entries - at) * sizeof(*e));
	r->n_entries++;
	e = &r->entries[at];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	return e;
}

static bool path_is_dir(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool path_exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

/* Records the outcome of a load attempt of `name` under r->lock.  On
 * success `p` becomes current and the old model (if any) is returned for
 * the caller to release outside the lock. */
static pool_impl *record_attempt(pool_registry *r, const char *name, int64_t version, pool_impl *p,
				 const char *reason)
{
	pool_impl *old = NULL;
	pool_entry *e;

	pthread_mutex_lock(&r->lock);
	e = entry_get(r, name);
	if (!e) {
		/* out of memory for the index: the new model cannot be found, drop it */
		pthread_mutex_unlock(&r->lock);
		return p;
	}
	if (p) {
		old = e->cur;
		e->cur = p;
		e->version = version;
		e->reason[0] = 0;
	} else {
		if (!e->cur)
			e->version = version;
		snprintf(e->reason, sizeof(e->reason), "%s", reason);
	}
	pthread_mutex_unlock(&r->lock);
	return old;
}

pool_status pool_load(pool_registry *r, const char *name, nn_err *err)
{
	char mdir[4096 + REPO_NAME_MAX + 2], cpath[sizeof(mdir) + 16], lpath[sizeof(mdir) + REPO_NAME_MAX + 2];
	char mpath[sizeof(mdir) + 48];
	repo_config cfg;
	int64_t version = 0;
	pool_impl *p = NULL, *old;
	pool_status ps;
	nn_err e = {0};
	bool labels_required = false;

	if (!repo_name_valid(name)) {
		nn_err_set(err, NN_ERR_INVALID_ARG,
			   "invalid model name: use 1..%d characters of [A-Za-z0-9._-], not starting with '.', "
			   "without \"..\"",
			   REPO_NAME_MAX);
		return POOL_BAD_REQUEST;
	}
	pthread_mutex_lock(&r->load_lock);
	snprintf(mdir, sizeof(mdir), "%s/%s", r->dir, name);
	if (!path_is_dir(mdir)) {
		nn_err_set(&e, NN_ERR_IO, "no model directory %s in the repository", name);
		ps = POOL_NOT_FOUND;
		/* a model that was loaded keeps serving; say why a reload failed */
		pthread_mutex_lock(&r->lock);
		if (entry_find(r, name))
			snprintf(entry_find(r, name)->reason, NN_ERR_MSG_MAX, "%s", e.msg);
		pthread_mutex_unlock(&r->lock);
		goto out;
	}
	repo_config_init(&cfg);
	if (repo_latest_version(r->dir, name, &version, &e) != NN_OK) {
		ps = POOL_NOT_FOUND;
		goto record;
	}
	snprintf(cpath, sizeof(cpath), "%s/config.json", mdir);
	if (path_exists(cpath) && repo_config_load(cpath, &cfg, &e) != NN_OK) {
		ps = POOL_FAILED;
		goto record;
	}
	if (cfg.labels[0]) {
		snprintf(lpath, sizeof(lpath), "%s/%s", mdir, cfg.labels);
		labels_required = true;
	} else {
		snprintf(lpath, sizeof(lpath), "%s/labels.txt", mdir);
	}
	snprintf(mpath, sizeof(mpath), "%s/%lld/model.tflite", mdir, (long long)version);
	ps = impl_build(r, mpath, name, version, &cfg, lpath, labels_required, &r->def, &p, &e);
	if (ps != POOL_OK)
		nn_err_prefix(&e, "version %lld", (long long)version);
record:
	old = record_attempt(r, name, version, ps == POOL_OK ? p : NULL, e.msg);
	if (ps == POOL_OK && old == p) {
		ps = POOL_FAILED; /* the index could not grow */
		nn_err_set(&e, NN_ERR_NO_MEMORY, "out of memory for the model index");
		old = NULL;
		pool_put(&p->pub);
	}
	if (ps == POOL_OK)
		pool_log(r, false, "model %s version %lld loaded: task %s, %zu bytes, arena %zu bytes, %.1f ms", name,
			(long long)version, pool_task_name(p->pub.task), p->pub.file_bytes, p->graph->arena_bytes,
			p->pub.load_ms);
	pool_put(old ? &old->pub : NULL);
out:
	if (ps != POOL_OK) {
		pool_log(r, true, "model %s: not loaded: %s", name, e.msg);
		if (err) {
			*err = e;
		}
	}
	pthread_mutex_unlock(&r->load_lock);
	return ps;
}

int pool_load_all(pool_registry *r)
{
	char **names;
	int n, loaded = 0;
	nn_err e = {0};

	if (repo_list(r->dir, &names, &n, &e) != NN_OK) {
		pool_log(r, true, "model repository: %s", e.msg);
		return 0;
	}
	for (int i = 0; i < n; i++)
		loaded += pool_load(r, names[i], NULL) == POOL_OK;
	repo_list_free(names, n);
	return loaded;
}

pool_status pool_unload(pool_registry *r, const char *name, nn_err *err)
{
	pool_entry *e;
	pool_impl *old;
	int64_t version;

	if (!repo_name_valid(name)) {
		nn_err_set(err, NN_ERR_INVALID_ARG, "invalid model name");
		return POOL_BAD_REQUEST;
	}
	pthread_mutex_lock(&r->load_lock);
	pthread_mutex_lock(&r->lock);
	e = entry_find(r, name);
	if (!e || !e->cur) {
		pthread_mutex_unlock(&r->lock);
		pthread_mutex_unlock(&r->load_lock);
		nn_err_set(err, NN_ERR_INVALID_ARG, e ? "model %s is not loaded" : "no model %s", name);
		return e ? POOL_NOT_READY : POOL_NOT_FOUND;
	}
	old = e->cur;
	version = e->version;
	e->cur = NULL;
	snprintf(e->reason, sizeof(e->reason), "unloaded");
	pthread_mutex_unlock(&r->lock);
	pool_log(r, false, "model %s version %lld unloaded", name, (long long)version);
	/* requests holding it finish on it; the last pool_put frees it */
	pool_put(&old->pub);
	pthread_mutex_unlock(&r->load_lock);
	return POOL_OK;
}

/* A JSON string of s; reasons quote paths and config keys (possibly cut in
 * the middle of a UTF-8 sequence), so anything jansson refuses is shown
 * with its non-ASCII bytes as '?'. */
static json_t *json_string_ascii(const char *s)
{
	json_t *v = json_string(s);
	char buf[NN_ERR_MSG_MAX];
	size_t i = 0;

	if (v)
		return v;
	for (; s[i] && i + 1 < sizeof(buf); i++)
		buf[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	buf[i] = 0;
	return json_string(buf);
}

json_t *pool_index(pool_registry *r)
{
	json_t *arr = json_array();

	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < r->n_entries; i++) {
		const pool_entry *e = &r->entries[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(e->name));
		if (e->version > 0)
			json_object_set_new(o, "version", json_integer(e->version));
		json_object_set_new(o, "state", json_string(e->cur ? "READY" : "UNAVAILABLE"));
		json_object_set_new(o, "reason", json_string_ascii(e->reason));
		json_array_append_new(arr, o);
	}
	pthread_mutex_unlock(&r->lock);
	return arr;
}

int pool_ready_count(pool_registry *r)
{
	int n = 0;

	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < r->n_entries; i++)
		n += r->entries[i].cur != NULL;
	pthread_mutex_unlock(&r->lock);
	return n;
}

pool_model *pool_get(pool_registry *r, const char *name, int64_t version, pool_status *status)
{
	pool_entry *e;
	pool_model *m = NULL;
	pool_status st = POOL_OK;

	if (!r || !repo_name_valid(name) || version < 0) {
		if (status)
			*status = POOL_NOT_FOUND;
		return NULL;
	}
	pthread_mutex_lock(&r->lock);
	e = entry_find(r, name);
	if (!e)
		st = POOL_NOT_FOUND;
	else if (!e->cur)
		st = POOL_NOT_READY;
	else if (version > 0 && version != e->cur->pub.version)
		st = POOL_NOT_FOUND;
	else {
		atomic_fetch_add(&e->cur->refs, 1);
		m = &e->cur->pub;
	}
	pthread_mutex_unlock(&r->lock);
	if (status)
		*status = st;
	return m;
}

/* ---- requests -------------------------------------------------------------- */

/* Engine failures during invoke: data-dependent ones are the request's fault. */
static pool_status invoke_status(nn_status st)
{
	return st == NN_ERR_RUNTIME || st == NN_ERR_INVALID_ARG ? POOL_BAD_REQUEST : POOL_FAILED;
}

pool_status pool_predict(pool_model *m, const uint8_t *data, size_t len, const char *content_type,
			 const pool_task_params *params, json_t **result, uint8_t **png, size_t *png_len,
			 pool_timing *timing, nn_err *err)
{
	pool_impl *p = impl_of(m);
	pool_task_params defp = {.top_k = 0, .threshold = -1.0f};
	pool_timing tloc;
	task_request rq;
	task_input in = {0};
	nn_session *s = NULL;
	nn_tensor *x;
	pool_status ps;
	nn_status st;
	double t0;

	if (!timing)
		timing = &tloc;
	memset(timing, 0, sizeof(*timing));
	if (result)
		*result = NULL;
	if (png)
		*png = NULL;
	if (png_len)
		*png_len = 0;
	if (!m || !result) {
		nn_err_set(err, NN_ERR_INVALID_ARG, "pool_predict: no model or no result pointer");
		return POOL_FAILED;
	}
	if (m->task == POOL_TASK_TENSOR) {
		nn_err_set(err, NN_ERR_UNSUPPORTED,
			   "model %s has no task endpoint (task tensor): send tensors to the KServe v2 endpoint "
			   "/v2/models/%s/infer or the TF Serving endpoint /v1/models/%s:predict",
			   m->name, m->name, m->name);
		return POOL_NO_TASK;
	}
	if (!p->ops->postprocess) {
		nn_err_set(err, NN_ERR_UNSUPPORTED,
			   "task %s has no adapter; model %s answers on the tensor endpoints "
			   "/v2/models/%s/infer and /v1/models/%s:predict",
			   pool_task_name(m->task), m->name, m->name, m->name);
		return POOL_NO_TASK;
	}
	rq.model = m;
	rq.state = p->task_state;
	rq.params = params ? params : &defp;
	rq.max_pixels = p->max_pixels;

	ps = (p->ops->preprocess ? p->ops->preprocess : pre_image_input)(&rq, data, len, content_type, &in, timing,
									  err);
	if (ps != POOL_OK)
		goto out;
	if ((ps = pool_session_acquire(m, &s, &timing->queue, err)) != POOL_OK)
		goto out;
	x = nn_session_input(s, 0);
	if (in.bytes != x->bytes) {
		ps = POOL_FAILED;
		nn_err_set(err, NN_ERR_INTERNAL, "preprocessing made %zu bytes for a %zu-byte input", in.bytes,
			   x->bytes);
		goto out;
	}
	t0 = pool_now_ms();
	memcpy(x->data, in.data, in.bytes);
	st = nn_session_invoke(s, err);
	atomic_fetch_add(&p->inferences, 1);
	timing->inference = pool_now_ms() - t0;
	if (st != NN_OK) {
		ps = POOL_FAILED;
		goto out;
	}
	t0 = pool_now_ms();
	ps = p->ops->postprocess(&rq, s, &in, result, png, png_len, err);
	timing->postprocess = pool_now_ms() - t0;
out:
	pool_session_release(m, s);
	free(in.data);
	return ps;
}

pool_status pool_infer_raw(pool_model *m, const void *const *inputs, const size_t *input_sizes, int n_inputs,
			   void **outputs, size_t *output_sizes, int *n_outputs, pool_timing *timing, nn_err *err)
{
	pool_impl *p = impl_of(m);
	pool_timing tloc;
	nn_session *s = NULL;
	pool_status ps = POOL_OK;
	nn_status st;
	int n_in, n_out, done = 0;
	double t0;

	if (!timing)
		timing = &tloc;
	memset(timing, 0, sizeof(*timing));
	if (n_outputs)
		*n_outputs = 0;
	if (!m || !outputs || !output_sizes || !n_outputs || (n_inputs > 0 && (!inputs || !input_sizes))) {
		nn_err_set(err, NN_ERR_INVALID_ARG, "pool_infer_raw: missing argument");
		return POOL_FAILED;
	}
	n_in = nn_graph_n_inputs(m->graph);
	n_out = nn_graph_n_outputs(m->graph);
	if (n_inputs != n_in) {
		nn_err_set(err, NN_ERR_INVALID_ARG, "model %s has %d input%s, the request has %d", m->name, n_in,
			   n_in == 1 ? "" : "s", n_inputs);
		return POOL_BAD_REQUEST;
	}
	for (int i = 0; i < n_in; i++) {
		const nn_tensor *t = nn_graph_input(m->graph, i);
		if (input_sizes[i] != t->bytes || (t->bytes > 0 && !inputs[i])) {
			nn_err_set(err, NN_ERR_INVALID_ARG,
				   "input %d ('%s', %s, %lld elements) needs exactly %zu bytes, the request has %zu", i,
				   t->name, nn_dtype_name(t->type), (long long)nn_tensor_count(t), t->bytes,
				   input_sizes[i]);
			return POOL_BAD_REQUEST;
		}
	}
	if ((ps = pool_session_acquire(m, &s, &timing->queue, err)) != POOL_OK)
		return ps;
	t0 = pool_now_ms();
	for (int i = 0; i < n_in; i++) {
		nn_tensor *t = nn_session_input(s, i);
		if (t->bytes)
			memcpy(t->data, inputs[i], t->bytes);
	}
	timing->preprocess = pool_now_ms() - t0;
	t0 = pool_now_ms();
	st = nn_session_invoke(s, err);
	atomic_fetch_add(&p->inferences, 1);
	timing->inference = pool_now_ms() - t0;
	if (st != NN_OK) {
		ps = invoke_status(st);
		goto out;
	}
	t0 = pool_now_ms();
	for (; done < n_out; done++) {
		const nn_tensor *t = nn_session_output(s, done);
		outputs[done] = malloc(t->bytes ? t->bytes : 1);
		if (!outputs[done]) {
			ps = POOL_FAILED;
			nn_err_set(err, NN_ERR_NO_MEMORY, "out of memory copying output %d (%zu bytes)", done, t->bytes);
			break;
		}
		if (t->bytes)
			memcpy(outputs[done], t->data, t->bytes);
		output_sizes[done] = t->bytes;
	}
	timing->postprocess = pool_now_ms() - t0;
	if (ps != POOL_OK) {
		for (int i = 0; i < done; i++) {
			free(outputs[i]);
			outputs[i] = NULL;
		}
	} else {
		*n_outputs = n_out;
	}
out:
	pool_session_release(m, s);
	return ps;
}
