package node

import (
	"context"
	"os"
	"strconv"
	"strings"

	"jobscope/collectors"
)

// NodeConfig names the node where the agent cannot find out by itself
// (--node.*).
type NodeConfig struct {
	// Name is Slurm's NodeName of this node; "" lets the agent take it from
	// the prolog files, the slurmd pod or the host name.
	Name string
	// KubernetesNode is the Kubernetes node the agent runs on.
	KubernetesNode string
}

// AddNodeFlags adds --node.name and --node.kubernetes-node to g and returns
// the NodeConfig they fill once parsed.
func AddNodeFlags(g collectors.FlagGroup) *NodeConfig {
	c := &NodeConfig{}
	g.Flag("node.name", "Slurm's NodeName of this node, exported as the `node` label that joins the agent's series to jobscope slurm's. Default: SLURMD_NODENAME as the prolog files recorded it, else (Slinky) the slurmd pod's name, else the short host name.").
		StringVar(&c.Name)
	g.Flag("node.kubernetes-node", "The Kubernetes node the agent runs on (k8s_node on jobscope_node_info); the Helm chart sets NODE_NAME from the downward API's spec.nodeName.").
		Envar("NODE_NAME").StringVar(&c.KubernetesNode)
	return c
}

// Identity is this node as Slurm and Kubernetes name it.
type Identity struct {
	Node           string // Slurm's NodeName
	Hostname       string
	KubernetesNode string
	// SlurmdNamespace and SlurmdPod name Slinky's slurmd pod, the Slurm
	// node; "" off Slinky.
	SlurmdNamespace, SlurmdPod string
}

// nodeFacts is the node's identity and the GRES index of each GPU known
// so far (by UUID), from the flags and the shared tenancy view.
func (d Deps) nodeFacts(ctx context.Context) (Identity, map[string]int) {
	id := Identity{Node: d.Node.Name, Hostname: d.Hostname, KubernetesNode: d.Node.KubernetesNode}
	if id.Hostname == "" {
		id.Hostname, _ = os.Hostname()
	}
	var gres map[string]int
	slurmNode := ""
	if d.Tenancy != nil {
		v := d.Tenancy(ctx)
		slurmNode, gres = v.SlurmNode, v.GRESIndex
		id.SlurmdNamespace, id.SlurmdPod = v.Slurmd.Namespace, v.Slurmd.Name
	}
	// The first that gives a name: the flag, slurmd's own word through the
	// prolog, Slinky's slurmd pod (its name is the Slurm node's unless the
	// NodeSet sets a hostname), the host's short name.
	for _, n := range []string{id.Node, slurmNode, id.SlurmdPod, shortHost(id.Hostname)} {
		if n != "" {
			id.Node = n
			break
		}
	}
	return id, gres
}

// shortHost is a host name up to its first dot, as Slurm's NodeName
// defaults to (`hostname -s`).
func shortHost(h string) string {
	short, _, _ := strings.Cut(h, ".")
	return short
}

// gresLabel is the gres_index label of uuid: "" until a prolog file named it.
func gresLabel(gres map[string]int, uuid string) string {
	if n, ok := gres[uuid]; ok {
		return strconv.Itoa(n)
	}
	return ""
}

// nodeInfoCollector exports the node's identity, the series every
// node-level join goes through.
type nodeInfoCollector struct {
	deps Deps
	info *collectors.FamilyDesc
}

func newNodeInfoCollector(d Deps) (collectors.Collector, error) {
	c := &nodeInfoCollector{deps: d,
		info: gaugeDesc("node_info",
			"This node (always 1): node is Slurm's NodeName (--node.name, else the prolog's SLURMD_NODENAME, else Slinky's slurmd pod, else the short host name), k8s_node the Kubernetes node, slurmd_namespace and slurmd_pod Slinky's slurmd pod that is the Slurm node.",
			"node", "hostname", "k8s_node", "slurmd_namespace", "slurmd_pod"),
	}
	return familyCollector{c.build}, nil
}

func (c *nodeInfoCollector) build(ctx context.Context, e *collectors.FamilyBuilder) error {
	id, _ := c.deps.nodeFacts(ctx)
	e.Add(c.info, 1, id.Node, id.Hostname, id.KubernetesNode, id.SlurmdNamespace, id.SlurmdPod)
	return nil
}
