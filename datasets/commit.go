package datasets

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Manifest describes a committed folder. It is written last; a folder without
// one is incomplete and readers ignore it. It holds no wall-clock time so that
// reruns are byte-identical.
type Manifest struct {
	Kind  string            `json:"kind"`
	Rows  int64             `json:"rows"`
	Meta  map[string]string `json:"meta,omitempty"`
	Files []ManifestFile    `json:"files"`
}

// ManifestFile is one file of a committed folder with its size and SHA-256.
type ManifestFile struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// CommitFolder builds a folder atomically: write fills a fresh temporary
// sibling of final and returns the manifest; CommitFolder then lists and hashes
// every file, writes the manifest last, fsyncs, and renames the folder into
// place, replacing an earlier one only after the new one is complete. On any
// error the temporary folder is removed and final is left untouched.
func CommitFolder(final string, write func(tmp string) (Manifest, error)) (err error) {
	pf, err := BeginFolder(final)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			pf.Abort()
		}
	}()
	m, err := write(pf.Dir())
	if err != nil {
		return err
	}
	return pf.Commit(m)
}

// PendingFolder is a folder being built for CommitFolder's atomic publish,
// for writers that fill it over time (e.g. a snapshot written bucket by
// bucket as the buckets are built). Exactly one of Commit or Abort ends it.
type PendingFolder struct {
	final, tmp string
}

// BeginFolder creates the temporary sibling of final that Commit publishes.
func BeginFolder(final string) (*PendingFolder, error) {
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, DirMode); err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(final)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	if err := os.Chmod(tmp, DirMode); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("datasets: %w", err)
	}
	return &PendingFolder{final: final, tmp: tmp}, nil
}

// Dir is the temporary folder to write into.
func (pf *PendingFolder) Dir() string { return pf.tmp }

// Abort removes the temporary folder; final is untouched.
func (pf *PendingFolder) Abort() { os.RemoveAll(pf.tmp) }

// Commit lists and hashes every file of the temporary folder, writes the
// manifest last, fsyncs, and renames the folder into place, replacing an
// earlier one only after the new one is complete. On any error the
// temporary folder is removed and final is left untouched.
func (pf *PendingFolder) Commit(m Manifest) (err error) {
	final, tmp, parent := pf.final, pf.tmp, filepath.Dir(pf.final)
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := injectedFault(final); err != nil { // as if the disk filled while the folder was written
		return err
	}
	files, err := hashFiles(tmp)
	if err != nil {
		return err
	}
	m.Files = files
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("datasets: manifest: %w", err)
	}
	if err := writeSynced(filepath.Join(tmp, ManifestName), append(b, '\n')); err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	if _, statErr := os.Stat(final); statErr == nil {
		// Swap the new folder in and the old one out in one step; the old
		// one, now at tmp, is removed afterwards.
		if err := exchange(tmp, final); err == nil {
			if err := syncDir(parent); err != nil {
				return err
			}
			if err := os.RemoveAll(tmp); err != nil {
				return fmt.Errorf("datasets: remove old %s: %w", final, err)
			}
			return nil
		}
		// No atomic exchange (not Linux, or a file system without it):
		// move the old folder aside first. A crash between the two renames
		// leaves the previous folder complete at <tmp>.old, not at final.
		old := tmp + ".old"
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("datasets: replace %s: %w", final, err)
		}
		if err := os.Rename(tmp, final); err != nil {
			_ = os.Rename(old, final)
			return fmt.Errorf("datasets: commit %s: %w", final, err)
		}
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("datasets: remove old %s: %w", old, err)
		}
		return syncDir(parent)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("datasets: commit %s: %w", final, err)
	}
	return syncDir(parent)
}

// ReadManifest reads the manifest of a committed folder. It returns an error
// wrapping fs.ErrNotExist when the folder is absent or was never completed.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return m, fmt.Errorf("datasets: %s is not a committed folder: %w", dir, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("datasets: manifest %s: %w", dir, err)
	}
	return m, nil
}

// Committed reports whether dir holds a complete (manifested) folder.
func Committed(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ManifestName))
	return err == nil
}

// WriteFileAtomic writes data to path through a synced temporary file and a rename.
func WriteFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), DirMode); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = injectedFault(path)
	}
	werr = syncClose(f, werr)
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("datasets: write %s: %w", path, werr)
	}
	return nil
}

// WriteFileWith creates path (FileMode) and fills it through a buffered
// writer with fn, then syncs and closes it. The file goes past the page
// cache where the file system allows it (createSyncedDirect): its one use
// is a list's CSV, written once and not read back by the run.
func WriteFileWith(path string, fn func(w io.Writer) error) error {
	f, finish, err := createSyncedDirect(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = fn(bw)
	if err == nil {
		err = bw.Flush()
	}
	return finish(err)
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, FileMode)
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	_, err = f.Write(data)
	if err = syncClose(f, err); err != nil {
		return fmt.Errorf("datasets: write %s: %w", path, err)
	}
	return nil
}

// syncClose syncs f unless err is already set, closes it, and returns the
// first error.
func syncClose(f *os.File, err error) error {
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// createSynced opens path for a writer; finish syncs and closes it, keeping
// the first error. What goes through the writer is hashed on the way: a
// file written whole by it needs no reading back when its folder commits
// (writtenSums).
func createSynced(path string) (*syncedFile, func(error) error, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, FileMode)
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %w", err)
	}
	return syncedOn(path, f, nil)
}

// createSyncedDirect is createSynced for a large file that is not read
// back soon: written past the page cache where it can be (directFile).
func createSyncedDirect(path string) (*syncedFile, func(error) error, error) {
	d, err := createDirect(path)
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %w", err)
	}
	return syncedOn(path, d.f, d)
}

func syncedOn(path string, f *os.File, d *directFile) (*syncedFile, func(error) error, error) {
	sf := &syncedFile{f: f, w: f, sum: newFileSum()}
	if d != nil {
		sf.w = d
	}
	finish := func(err error) error {
		if d != nil {
			if derr := d.finish(); err == nil {
				err = derr
			}
		}
		if err = syncClose(f, err); err != nil {
			return fmt.Errorf("datasets: write %s: %w", path, err)
		}
		sf.sum.remember(path)
		return nil
	}
	return sf, finish, nil
}

// syncedFile is a file being written by createSynced's caller: its writes
// are summed.
type syncedFile struct {
	f   *os.File
	w   io.Writer // f, or its directFile
	sum *fileSum
}

func (s *syncedFile) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.sum.Write(p[:n])
	return n, err
}

// fileSum is the size and SHA-256 of the bytes written to it: the bytes of
// a file, teed into it as they are read or written.
type fileSum struct {
	h hash.Hash
	n int64
}

func newFileSum() *fileSum { return &fileSum{h: sha256.New()} }

func (s *fileSum) Write(p []byte) (int, error) {
	s.h.Write(p)
	s.n += int64(len(p))
	return len(p), nil
}

// hex is the SHA-256 so far, in hex.
func (s *fileSum) hex() string { return hex.EncodeToString(s.h.Sum(nil)) }

// writtenSums holds the SHA-256 of files this process has just written
// whole through a hashing writer (createSynced, a snapshot part's sink),
// by path, with the size and modification time they had when closed. A
// folder's commit takes a file's sum from here instead of reading the file
// back when both still match (a snapshot pass at 1M customers writes 0.7
// GB), and drops the entry; a file written again another way gets another
// time or size and is read.
var writtenSums sync.Map // string → writtenSum

type writtenSum struct {
	size int64
	mod  time.Time
	sum  string
}

// remember records s as the sum of the closed file at path, written whole
// through it; nothing when the file is not what was written (another
// writer appended, or wrote past the hashing writer).
func (s *fileSum) remember(path string) {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != s.n {
		writtenSums.Delete(filepath.Clean(path))
		return
	}
	writtenSums.Store(filepath.Clean(path), writtenSum{size: s.n, mod: fi.ModTime(), sum: s.hex()})
}

// knownSum returns the size and sum fileSum.remember recorded for the file at
// path if the file still has that size and modification time, and forgets
// them either way.
func knownSum(path string) (int64, string, bool) {
	v, ok := writtenSums.LoadAndDelete(filepath.Clean(path))
	if !ok {
		return 0, "", false
	}
	w := v.(writtenSum)
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != w.size || !fi.ModTime().Equal(w.mod) {
		return 0, "", false
	}
	return w.size, w.sum, true
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("datasets: sync %s: %w", dir, err)
	}
	return nil
}

func hashFiles(root string) ([]ManifestFile, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("datasets: hash %s: %w", root, err)
	}
	// The files on every core: a snapshot or warehouse has one a bucket.
	out := make([]ManifestFile, len(paths))
	err = eachBucket(len(paths), func(i int) error {
		rel, err := filepath.Rel(root, paths[i])
		if err != nil {
			return err
		}
		if n, sum, ok := knownSum(paths[i]); ok {
			out[i] = ManifestFile{Path: filepath.ToSlash(rel), Bytes: n, SHA256: sum}
			return nil
		}
		n, sum, err := hashFile(paths[i])
		out[i] = ManifestFile{Path: filepath.ToSlash(rel), Bytes: n, SHA256: sum}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("datasets: hash %s: %w", root, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// hashFile returns the size and hex SHA-256 of the file at path, through a
// plain read loop: io.Copy would go through (*os.File).WriteTo, whose
// splice and sendfile attempts cost a quarter more on a large file.
func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	sum := newFileSum()
	if _, err := io.CopyBuffer(sum, struct{ io.Reader }{f}, make([]byte, 256<<10)); err != nil {
		return 0, "", err
	}
	return sum.n, sum.hex(), nil
}

// FileFingerprints returns the hex SHA-256 of each file, hashed on up to
// workers goroutines (a large export beside small ones); the errors name
// their files.
func FileFingerprints(paths []string, workers int) ([]string, error) {
	sums := make([]string, len(paths))
	err := parallel(len(paths), max(1, workers), func(i int) (err error) {
		_, sums[i], err = FileFingerprint(paths[i])
		return err
	})
	return sums, err
}

// FileFingerprint returns the size and SHA-256 of a file, for run records.
func FileFingerprint(path string) (int64, string, error) {
	n, sum, err := hashFile(path)
	if err != nil {
		return 0, "", fmt.Errorf("datasets: %w", err) // the error names the file
	}
	return n, sum, nil
}

// Modes of what churn writes in a work directory: customer data, readable
// by the owner only.
const (
	FileMode os.FileMode = 0o600
	DirMode  os.FileMode = 0o700
)

// CleanStale removes what an interrupted writer left in workdir: hidden
// .<name>.tmp-* folders and files of CommitFolder and WriteFileAtomic
// (never complete: the rename is the commit). A <tmp>.old folder whose
// final folder is missing is the previous version, moved aside just before
// a crash: it is renamed back. Call it only while holding the work
// directory's lock, so no live writer's files are touched. It returns the
// paths it removed or restored.
func CleanStale(workdir string) ([]string, error) {
	var done []string
	err := filepath.WalkDir(workdir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		name := d.Name()
		if path == workdir || !strings.HasPrefix(name, ".") || !strings.Contains(name, ".tmp-") {
			return nil
		}
		if d.IsDir() && strings.HasSuffix(name, ".old") {
			final := filepath.Join(filepath.Dir(path), strings.TrimPrefix(name[:strings.Index(name, ".tmp-")], "."))
			if _, err := os.Stat(final); errors.Is(err, fs.ErrNotExist) {
				if err := os.Rename(path, final); err != nil {
					return fmt.Errorf("datasets: restore %s: %w", final, err)
				}
				done = append(done, final)
				return filepath.SkipDir
			}
		}
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("datasets: remove %s: %w", path, err)
		}
		done = append(done, path)
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
	return done, err
}

// writeFault, when set, makes CommitFolder and WriteFileAtomic fail for
// the paths it returns an error for, after writing and before committing:
// fault injection for tests (a full disk, a failing device).
var writeFault atomic.Pointer[func(path string) error]

// SetWriteFault installs fn as the write fault (nil removes it). For tests.
func SetWriteFault(fn func(path string) error) {
	if fn == nil {
		writeFault.Store(nil)
		return
	}
	writeFault.Store(&fn)
}

func injectedFault(path string) error {
	if fn := writeFault.Load(); fn != nil {
		if err := (*fn)(path); err != nil {
			return fmt.Errorf("datasets: write %s: %w", path, err)
		}
	}
	return nil
}
