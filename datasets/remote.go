package datasets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/gcsblob" // gs://
	_ "gocloud.dev/blob/s3blob"  // s3:// (AWS, MinIO, Ceph, R2: ?endpoint=…&use_path_style=true)
	"gocloud.dev/gcerrors"
)

// A work directory may live in object storage: --workdir s3://bucket/prefix
// (or gs://, or any gocloud.dev/blob URL). Commands then work on a local
// copy: Remote.Pull fetches the objects they read (only those that changed
// since the copy last saw them), the command runs as on a local folder, and
// Remote.Push publishes what it wrote the way a reader can trust on a store
// without renames: every file of a folder first, the folder's manifest
// after them, and pointers (lists/LATEST, models/*/CHAMPION, ingest logs)
// last; files the command removed are deleted after that, manifests first.
// A failed command pushes nothing.

// transfers is how many objects move at once (they wait on the network,
// not the CPU).
const transfers = 8

// syncState is the copy's record of what it holds from the store.
const syncState = ".churn-sync.json"

// IsRemote reports whether workdir is an object-storage URL (scheme://…
// other than file://).
func IsRemote(workdir string) bool {
	u, err := url.Parse(workdir)
	return err == nil && len(u.Scheme) > 1 && u.Scheme != "file" && strings.Contains(workdir, "://")
}

// LocalWorkdir returns the folder of a local work directory given as a
// path or a file:// URL.
func LocalWorkdir(workdir string) string {
	if u, err := url.Parse(workdir); err == nil && u.Scheme == "file" {
		return filepath.FromSlash(u.Path)
	}
	return workdir
}

// Remote is a work directory in object storage and its local copy.
type Remote struct {
	URL    string
	Local  string // the copy: give it to the stages as the work directory
	b      *blob.Bucket
	state  map[string]syncEntry // by slash path under the prefix: what the copy holds from the store
	unlock func()               // releases the copy's lock
}

// syncEntry is one file of the copy as the store had it when fetched or
// pushed: the store's size, MD5 and modification time, and the local
// file's size and modification time (unchanged since: same content).
type syncEntry struct {
	Size        int64     `json:"size"`
	MD5         string    `json:"md5,omitempty"`
	Mod         time.Time `json:"mod"`
	LocalSize   int64     `json:"local_size"`
	LocalMod    time.Time `json:"local_mod"`
	LocalSHA256 string    `json:"sha256"`
}

// same reports whether o is the object e recorded: the same size and MD5,
// or, when the store gives no MD5 (multipart uploads), the same size and
// modification second (listings and attributes round it differently).
func (e syncEntry) same(o remoteObject) bool {
	if e.Size != o.size {
		return false
	}
	if e.MD5 != "" && o.md5 != "" {
		return e.MD5 == o.md5
	}
	return e.Mod.Truncate(time.Second).Equal(o.mod.Truncate(time.Second))
}

// OpenRemote opens the store at rawURL (scheme://bucket/prefix?options)
// with its local copy in cacheDir (created if needed; reused by later
// commands, so only changed objects are fetched again).
func OpenRemote(ctx context.Context, rawURL, cacheDir string) (*Remote, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("datasets: work directory URL %q: %w", rawURL, err)
	}
	prefix := strings.Trim(u.Path, "/")
	q := u.Query()
	if prefix != "" {
		q.Set("prefix", prefix+"/")
	}
	u.Path, u.RawQuery = "", q.Encode()
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("datasets: open %s: %w", rawURL, err)
	}
	if err := os.MkdirAll(cacheDir, DirMode); err != nil {
		b.Close()
		return nil, fmt.Errorf("datasets: %w", err)
	}
	// One command at a time on a copy: two would fetch and remove files
	// under each other (ErrLocked names the holder).
	unlock, err := LockWorkdir(filepath.Join(cacheDir, ".copy"))
	if err != nil {
		b.Close()
		return nil, err
	}
	r := &Remote{URL: rawURL, Local: cacheDir, b: b, state: map[string]syncEntry{}, unlock: unlock}
	if raw, err := os.ReadFile(filepath.Join(cacheDir, syncState)); err == nil {
		if json.Unmarshal(raw, &r.state) != nil {
			r.state = map[string]syncEntry{} // unreadable: fetch everything again
		}
	}
	return r, nil
}

// Close closes the store and releases the copy.
func (r *Remote) Close() error {
	if r.unlock != nil {
		r.unlock()
		r.unlock = nil
	}
	return r.b.Close()
}

// hiddenPath reports whether a slash path has a component starting with a
// dot: temporary folders, locks and the copy's own record stay local.
func hiddenPath(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if strings.HasPrefix(c, ".") {
			return true
		}
	}
	return false
}

// isManifest reports whether a slash path is a folder's manifest.
func isManifest(p string) bool { return path.Base(p) == ManifestName }

// remoteObject is one object of the store.
type remoteObject struct {
	key  string
	size int64
	md5  string
	mod  time.Time
}

func (r *Remote) list(ctx context.Context) (map[string]remoteObject, error) {
	objs := map[string]remoteObject{}
	it := r.b.List(nil)
	for {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("datasets: list %s: %w", r.URL, err)
		}
		if o.IsDir || hiddenPath(o.Key) {
			continue
		}
		objs[o.Key] = remoteObject{key: o.Key, size: o.Size, md5: hex.EncodeToString(o.MD5), mod: o.ModTime.UTC()}
	}
}

// Pull makes the copy hold the store's objects: every manifest and
// pointer, and the other files keep accepts (nil: all). A file the copy
// holds and the store changed or removed is fetched again or removed; one
// the store has and keep refuses is removed from the copy, so no stale
// file is read.
//
// Readers follow manifests: a folder of the copy whose files are not the
// ones its manifest names (another command is rewriting it in the store,
// or one died while pushing it) is left out — its manifest removed from
// the copy, so the stages see no folder there — and named in the result;
// for the warehouse, whose history cannot be rebuilt, that is an error. A
// push this copy did not finish (the command died) is finished first.
func (r *Remote) Pull(ctx context.Context, keep func(key string) bool) ([]string, error) {
	if _, err := os.Stat(filepath.Join(r.Local, pushPending)); err == nil {
		if err := r.Push(ctx); err != nil {
			return nil, fmt.Errorf("datasets: finishing the interrupted push of %s: %w", r.URL, err)
		}
	}
	objs, err := r.list(ctx)
	if err != nil {
		return nil, err
	}
	// Manifests and pointers first: keep may look at them (the warehouse's
	// manifest says whether a shard needs every bucket).
	var first, rest []remoteObject
	for _, o := range objs {
		if isManifest(o.key) || !inFolder(o.key, func(k string) bool { _, ok := objs[k]; return ok }) {
			first = append(first, o)
		} else {
			rest = append(rest, o)
		}
	}
	if err := r.fetch(ctx, first); err != nil {
		return nil, err
	}
	var want []remoteObject
	for _, o := range rest {
		if keep == nil || keep(o.key) {
			want = append(want, o)
		}
	}
	if err := r.fetch(ctx, want); err != nil {
		return nil, err
	}
	// Whatever else the copy holds is not (or no longer) the store's.
	kept := map[string]bool{}
	for _, o := range slices.Concat(first, want) {
		kept[o.key] = true
	}
	err = r.walkLocal(func(key, _ string, _ fs.FileInfo) error {
		if !kept[key] {
			delete(r.state, key)
			return os.Remove(filepath.Join(r.Local, filepath.FromSlash(key)))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	broken, err := r.verify(objs)
	if serr := r.saveState(); err == nil {
		err = serr
	}
	return broken, err
}

// verify checks every folder of the copy against its manifest (see Pull).
func (r *Remote) verify(objs map[string]remoteObject) ([]string, error) {
	var broken []string
	for key := range r.state {
		if !isManifest(key) {
			continue
		}
		dir := path.Dir(key)
		m, err := ReadManifest(filepath.Join(r.Local, filepath.FromSlash(dir)))
		ok := err == nil
		for _, f := range m.Files {
			k := dir + "/" + f.Path
			if e, held := r.state[k]; held {
				ok = ok && e.LocalSHA256 == f.SHA256
			} else if _, stored := objs[k]; !stored {
				ok = false // named by the manifest, not in the store
			}
		}
		if ok {
			continue
		}
		if strings.HasPrefix(dir, "warehouse/") {
			return nil, fmt.Errorf("datasets: %s/%s in the store does not match its manifest (an ingest is writing it, or one died while pushing it): run that ingest again when no other is running", r.URL, dir)
		}
		if err := os.Remove(filepath.Join(r.Local, filepath.FromSlash(key))); err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("datasets: %w", err)
		}
		delete(r.state, key)
		broken = append(broken, dir)
	}
	slices.Sort(broken)
	return broken, nil
}

// pushPending marks a copy whose push has begun and not finished.
const pushPending = ".churn-push-pending"

// inFolder reports whether key lies under a folder with a manifest (one
// whose key exists says).
func inFolder(key string, exists func(key string) bool) bool {
	for d := path.Dir(key); d != "." && d != "/"; d = path.Dir(d) {
		if exists(d + "/" + ManifestName) {
			return true
		}
	}
	return false
}

// fetch downloads the objects the copy does not hold as the store has them.
func (r *Remote) fetch(ctx context.Context, objs []remoteObject) error {
	var todo []remoteObject
	for _, o := range objs {
		if e, ok := r.state[o.key]; ok && e.same(o) && r.unchanged(o.key, e) {
			continue
		}
		todo = append(todo, o)
	}
	var mu sync.Mutex
	return parallel(len(todo), transfers, func(i int) error {
		o := todo[i]
		e, err := r.download(ctx, o)
		if err != nil {
			return err
		}
		mu.Lock()
		r.state[o.key] = e
		mu.Unlock()
		return nil
	})
}

// unchanged reports whether the local file of key is the one e recorded.
func (r *Remote) unchanged(key string, e syncEntry) bool {
	fi, err := os.Stat(filepath.Join(r.Local, filepath.FromSlash(key)))
	return err == nil && fi.Size() == e.LocalSize && fi.ModTime().Equal(e.LocalMod)
}

func (r *Remote) download(ctx context.Context, o remoteObject) (syncEntry, error) {
	dst := filepath.Join(r.Local, filepath.FromSlash(o.key))
	if err := os.MkdirAll(filepath.Dir(dst), DirMode); err != nil {
		return syncEntry{}, fmt.Errorf("datasets: %w", err)
	}
	rd, err := r.b.NewReader(ctx, o.key, nil)
	if err != nil {
		return syncEntry{}, fmt.Errorf("datasets: fetch %s from %s: %w", o.key, r.URL, err)
	}
	defer rd.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".fetch.tmp-*")
	if err != nil {
		return syncEntry{}, fmt.Errorf("datasets: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), rd)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != o.size {
		err = fmt.Errorf("got %d bytes, the listing says %d", n, o.size)
	}
	if err != nil {
		return syncEntry{}, fmt.Errorf("datasets: fetch %s from %s: %w", o.key, r.URL, err)
	}
	if err := os.Chmod(tmp.Name(), FileMode); err != nil {
		return syncEntry{}, fmt.Errorf("datasets: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return syncEntry{}, fmt.Errorf("datasets: %w", err)
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return syncEntry{}, fmt.Errorf("datasets: %w", err)
	}
	return syncEntry{Size: o.size, MD5: o.md5, Mod: o.mod, LocalSize: fi.Size(), LocalMod: fi.ModTime(), LocalSHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// walkLocal calls fn for every file of the copy that is not hidden, with
// its slash key.
func (r *Remote) walkLocal(fn func(key, path string, fi fs.FileInfo) error) error {
	return filepath.WalkDir(r.Local, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(r.Local, p)
		key := filepath.ToSlash(rel)
		if p == r.Local {
			return nil
		}
		if hiddenPath(key) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return fn(key, p, fi)
	})
}

// Push publishes what the command changed in the copy: new and changed
// files of folders first, then their manifests, then every other file
// (pointers); then it deletes from the store what the copy held from it
// and no longer has, manifests first. Files of the store the copy never
// held (other shards' work, or parts left out of Pull) are left alone.
func (r *Remote) Push(ctx context.Context) error {
	pending := filepath.Join(r.Local, pushPending)
	if err := WriteFileAtomic(pending, nil); err != nil {
		return err
	}
	if err := r.push(ctx); err != nil {
		return err
	}
	if err := os.Remove(pending); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	return nil
}

func (r *Remote) push(ctx context.Context) error {
	type upload struct {
		key, path string
		fi        fs.FileInfo
	}
	var data, manifests, pointers []upload
	local := map[string]bool{}
	err := r.walkLocal(func(key, p string, fi fs.FileInfo) error {
		local[key] = true
		if e, ok := r.state[key]; ok && fi.Size() == e.LocalSize && fi.ModTime().Equal(e.LocalMod) {
			return nil // as fetched or pushed
		}
		u := upload{key, p, fi}
		switch {
		case isManifest(key):
			manifests = append(manifests, u)
		default:
			data = append(data, u)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A changed file outside every folder with a manifest is a pointer.
	var inFolders []upload
	for _, u := range data {
		if inFolder(u.key, func(k string) bool { return local[k] }) {
			inFolders = append(inFolders, u)
		} else {
			pointers = append(pointers, u)
		}
	}
	var mu sync.Mutex
	for _, batch := range [][]upload{inFolders, manifests, pointers} {
		err := parallel(len(batch), transfers, func(i int) error {
			u := batch[i]
			e, err := r.upload(ctx, u.key, u.path)
			if err != nil {
				return err
			}
			mu.Lock()
			r.state[u.key] = e
			mu.Unlock()
			return nil
		})
		if err != nil {
			r.saveState()
			return err
		}
	}
	var gone []string
	for key := range r.state {
		if !local[key] {
			gone = append(gone, key)
		}
	}
	slices.SortFunc(gone, func(a, b string) int { // manifests first: the folder stops being read before its files go
		if isManifest(a) != isManifest(b) {
			if isManifest(a) {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, key := range gone {
		if err := r.b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			r.saveState()
			return fmt.Errorf("datasets: delete %s from %s: %w", key, r.URL, err)
		}
		delete(r.state, key)
	}
	return r.saveState()
}

func (r *Remote) upload(ctx context.Context, key, p string) (syncEntry, error) {
	f, err := os.Open(p)
	if err != nil {
		return syncEntry{}, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return syncEntry{}, fmt.Errorf("datasets: %w", err)
	}
	w, err := r.b.NewWriter(ctx, key, nil)
	if err != nil {
		return syncEntry{}, fmt.Errorf("datasets: push %s to %s: %w", key, r.URL, err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(w, h), f)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return syncEntry{}, fmt.Errorf("datasets: push %s to %s: %w", key, r.URL, err)
	}
	a, err := r.b.Attributes(ctx, key)
	if err != nil {
		return syncEntry{}, fmt.Errorf("datasets: push %s to %s: %w", key, r.URL, err)
	}
	return syncEntry{Size: a.Size, MD5: hex.EncodeToString(a.MD5), Mod: a.ModTime.UTC(), LocalSize: fi.Size(), LocalMod: fi.ModTime(),
		LocalSHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func (r *Remote) saveState() error {
	b, err := json.Marshal(r.state)
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	return WriteFileAtomic(filepath.Join(r.Local, syncState), b)
}
